import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { f32LeToFloat32, floatToInt16, pcm16LeToInt16 } from './pcm.ts';
import { MULAW_TO_PCM16, mulawToInt16 } from './mulaw.ts';
import { bytesToInt16, ffmpegRaw, speak, tempDir, thrown } from './audio.testkit.ts';

function code(fn: () => unknown): string {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(VlpError);
  return (err as VlpError).code;
}

describe('pcm16', () => {
  it('reads little-endian samples into a copy', () => {
    const bytes = new Uint8Array([0x01, 0x00, 0xff, 0x7f, 0x00, 0x80, 0xff, 0xff]);
    const s = pcm16LeToInt16(bytes.subarray(0, 8));
    expect(Array.from(s)).toEqual([1, 32767, -32768, -1]);
    bytes[0] = 9;
    expect(s[0]).toBe(1); // not a view of the chunk
  });

  it('reads from an odd byte offset', () => {
    const bytes = new Uint8Array([0xaa, 0x02, 0x00, 0x03, 0x00]);
    expect(Array.from(pcm16LeToInt16(bytes.subarray(1)))).toEqual([2, 3]);
  });

  it('refuses an odd byte count', () => {
    expect(code(() => pcm16LeToInt16(new Uint8Array(3)))).toBe('AUDIO_CHUNK_INVALID');
  });
});

describe('f32', () => {
  it('reads, clamps to [-1, 1] and converts like ffmpeg (×32768, clipped)', () => {
    const f = f32LeToFloat32(new Uint8Array(new Float32Array([0.5, -0.25, 1.5, -7, 1, -1]).buffer));
    expect(Array.from(f)).toEqual([0.5, -0.25, 1, -1, 1, -1]);
    expect(Array.from(floatToInt16(f))).toEqual([16384, -8192, 32767, -32768, 32767, -32768]);
  });

  it('refuses a length that is not a multiple of 4 and non-finite samples', () => {
    expect(code(() => f32LeToFloat32(new Uint8Array(5)))).toBe('AUDIO_CHUNK_INVALID');
    expect(code(() => f32LeToFloat32(new Uint8Array(new Float32Array([0, NaN]).buffer)))).toBe('AUDIO_CHUNK_INVALID');
    expect(code(() => f32LeToFloat32(new Uint8Array(new Float32Array([Infinity]).buffer)))).toBe('AUDIO_CHUNK_INVALID');
  });
});

describe('µ-law', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  it('follows the G.711 table', () => {
    expect(MULAW_TO_PCM16[0xff]).toBe(0);
    expect(MULAW_TO_PCM16[0x7f]).toBe(0);
    expect(MULAW_TO_PCM16[0x00]).toBe(-32124);
    expect(MULAW_TO_PCM16[0x80]).toBe(32124);
    expect(MULAW_TO_PCM16[0xf0]).toBe(120);
  });

  it('decodes real speech exactly as ffmpeg does', () => {
    const wav = speak(`${tmp.dir}/s.wav`, 'Testing mu law.');
    const mulaw = ffmpegRaw(wav, ['-f', 'mulaw', '-ar', '8000']);
    const expected = bytesToInt16(ffmpegRaw('pipe:0', ['-f', 's16le'], ['-f', 'mulaw', '-ar', '8000'], mulaw));
    expect(mulawToInt16(mulaw)).toEqual(expected);
    expect(mulaw.length).toBeGreaterThan(4000);
  });
});
