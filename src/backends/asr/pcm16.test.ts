import { describe, expect, it } from 'vitest';
import { writePcm16le } from './pcm16.ts';

describe('writePcm16le', () => {
  it('copies samples little-endian at an offset, from a view at any offset', () => {
    const dst = new Uint8Array(6);
    writePcm16le(Int16Array.from([7, 258, -2]).subarray(1), dst, 1);
    expect([...dst]).toEqual([0, 2, 1, 254, 255, 0]);
  });
});
