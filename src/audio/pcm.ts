// Fixed-size PCM encodings to samples: PCM16 LE and f32 LE (SPEC.md "audio.start"). Every function
// copies out of the chunk: the chunk may be a view into a pooled frame buffer that is reused once
// the message is handled, while the samples live on in the ring and the ASR stream.
import { VlpError } from '../../protocol/errors.ts';

/** True on every platform Node runs on today; the big-endian branches keep the code honest. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** PCM16 little-endian bytes → samples (a copy). Odd byte count → AUDIO_CHUNK_INVALID. */
export function pcm16LeToInt16(chunk: Uint8Array): Int16Array {
  if (chunk.length % 2 !== 0) {
    throw new VlpError('AUDIO_CHUNK_INVALID', `pcm16 chunk has an odd byte count (${chunk.length})`);
  }
  const out = new Int16Array(chunk.length / 2);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(chunk);
  } else {
    const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getInt16(2 * i, true);
  }
  return out;
}

/** f32 little-endian bytes → samples in [-1, 1] (a copy, clamped). Length not a multiple of 4 or a
 *  NaN/Infinity sample → AUDIO_CHUNK_INVALID. */
export function f32LeToFloat32(chunk: Uint8Array): Float32Array {
  if (chunk.length % 4 !== 0) {
    throw new VlpError('AUDIO_CHUNK_INVALID', `f32 chunk length ${chunk.length} is not a multiple of 4 bytes`);
  }
  const out = new Float32Array(chunk.length / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(chunk);
  } else {
    const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true);
  }
  for (let i = 0; i < out.length; i++) {
    const v = out[i] as number;
    if (!Number.isFinite(v)) {
      throw new VlpError('AUDIO_CHUNK_INVALID', `f32 chunk has a non-finite sample at index ${i}`);
    }
    if (v > 1) out[i] = 1;
    else if (v < -1) out[i] = -1;
  }
  return out;
}

/** Float samples in [-1, 1] → PCM16 (×32768, rounded, clipped: what ffmpeg's flt→s16 does). */
export function floatToInt16(f: Float32Array): Int16Array {
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = clip16((f[i] as number) * 32768);
  return out;
}

/** Scales float samples in [-1, 1] to the PCM16 range in place (resampler input). */
export function scaleToInt16Range(f: Float32Array): Float32Array {
  for (let i = 0; i < f.length; i++) f[i] = (f[i] as number) * 32768;
  return f;
}

/** Rounds and clips one value to a PCM16 sample. */
export function clip16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}
