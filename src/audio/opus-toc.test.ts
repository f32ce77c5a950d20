import { describe, expect, it } from 'vitest';
import { opusPacketMs } from './opus-toc.ts';

describe('opusPacketMs', () => {
  it('reads frame size and count from the TOC byte', () => {
    expect(opusPacketMs(new Uint8Array([0xf8, 1, 2]))).toBe(20); // CELT FB 20 ms, one frame
    expect(opusPacketMs(new Uint8Array([0x08 | 0, 1]))).toBe(20); // SILK NB 20 ms
    expect(opusPacketMs(new Uint8Array([0x18 | 1]))).toBe(120); // SILK NB 60 ms, two frames
    expect(opusPacketMs(new Uint8Array([0x80 | 2, 1, 1]))).toBe(5); // CELT NB 2.5 ms, two frames
    expect(opusPacketMs(new Uint8Array([0xf8 | 3, 0x03]))).toBe(60); // CELT FB 20 ms, three frames
    expect(opusPacketMs(new Uint8Array([0x60]))).toBe(10); // Hybrid SWB 10 ms
  });

  it('is undefined for malformed packets', () => {
    expect(opusPacketMs(new Uint8Array(0))).toBeUndefined();
    expect(opusPacketMs(new Uint8Array([0xfb]))).toBeUndefined(); // code 3 without its count byte
    expect(opusPacketMs(new Uint8Array([0xfb, 0x00]))).toBeUndefined(); // zero frames
    expect(opusPacketMs(new Uint8Array([0xfb, 0x07]))).toBeUndefined(); // 7 × 20 ms > 120 ms
  });
});
