import { describe, expect, it } from 'vitest';
import { PcmRing } from './ring.ts';

const seq = (from: number, n: number) => Int16Array.from({ length: n }, (_, i) => from + i);

describe('PcmRing', () => {
  it('reads back oldest first, across the wrap', () => {
    const r = new PcmRing(5);
    r.write(seq(1, 3));
    expect(Array.from(r.read(2))).toEqual([1, 2]);
    r.write(seq(4, 4)); // wraps
    expect(r.length).toBe(5);
    expect(Array.from(r.read(10))).toEqual([3, 4, 5, 6, 7]);
    expect(r.length).toBe(0);
    expect(r.read(3).length).toBe(0);
  });

  it('drops the oldest samples when full and counts them', () => {
    const r = new PcmRing(4);
    r.write(seq(1, 3));
    r.write(seq(4, 3)); // 2 dropped
    expect(r.takeDropped()).toBe(2);
    expect(r.takeDropped()).toBe(0);
    expect(Array.from(r.read(4))).toEqual([3, 4, 5, 6]);
    r.write(seq(10, 9)); // larger than the ring: 5 of it dropped
    expect(r.takeDropped()).toBe(5);
    expect(r.totalDropped).toBe(7);
    expect(Array.from(r.read(4))).toEqual([15, 16, 17, 18]);
  });

  it('returns copies, not views', () => {
    const r = new PcmRing(4);
    r.write(seq(1, 4));
    const out = r.read(2);
    r.write(seq(9, 2));
    expect(Array.from(out)).toEqual([1, 2]);
  });

  it('allocates nothing until the first write', () => {
    const r = new PcmRing(16_000 * 120);
    expect(r.length).toBe(0);
    expect(r.read(100).length).toBe(0);
    expect((r as unknown as { buf: unknown }).buf).toBeUndefined();
    r.write(new Int16Array(0));
    expect((r as unknown as { buf: unknown }).buf).toBeUndefined();
    r.write(seq(0, 1));
    expect((r as unknown as { buf: Int16Array }).buf.length).toBe(16_000 * 120);
  });

  it('refuses a bad capacity', () => {
    expect(() => new PcmRing(0)).toThrow(RangeError);
    expect(() => new PcmRing(1.5)).toThrow(RangeError);
  });
});
