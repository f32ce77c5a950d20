import { describe, expect, it } from 'vitest';
import { ByteQueue } from './byte-queue.ts';

describe('ByteQueue', () => {
  it('is a FIFO that never holds more than its capacity', () => {
    const q = new ByteQueue(10);
    expect(q.append(new Uint8Array([1, 2, 3, 4]))).toBe(true);
    q.consume(3);
    expect(q.append(new Uint8Array([5, 6, 7, 8, 9, 10, 11, 12, 13]))).toBe(true);
    expect(Array.from(q.view())).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(q.append(new Uint8Array([14]))).toBe(false);
    expect(q.length).toBe(10);
    q.consume(100);
    expect(q.length).toBe(0);
    q.clear();
    expect(q.view().length).toBe(0);
  });

  it('copies what it is given', () => {
    const q = new ByteQueue(100);
    const src = new Uint8Array([1, 2]);
    q.append(src);
    src[0] = 9;
    expect(Array.from(q.view())).toEqual([1, 2]);
  });
});
