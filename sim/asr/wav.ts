// WAV (RIFF) reading and writing for the simulated ASR services, plus a small resampler so a WAV at
// another rate or channel count still reaches the clip matcher as 16 kHz mono. Only what the
// simulators need: PCM 8/16/24/32-bit, IEEE float 32/64, WAVE_FORMAT_EXTENSIBLE wrapping either.

export const ASR_RATE = 16_000;

export interface WavAudio {
  sampleRate: number;
  channels: number;
  /** Interleaved samples as floats in [-1, 1]. */
  data: Float32Array;
}

export class WavError extends Error {}

const PCM = 1;
const FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/** True when the bytes start like a RIFF/WAVE file. */
export function looksLikeWav(buf: Uint8Array): boolean {
  return buf.length >= 12 && ascii(buf, 0, 4) === 'RIFF' && ascii(buf, 8, 4) === 'WAVE';
}

function ascii(buf: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(buf[at + i] ?? 0);
  return s;
}

/** Parse a RIFF/WAVE file. Throws WavError for anything it cannot read. A `data` chunk whose
 *  declared size runs past the end (streamed WAVs write 0 or 0xFFFFFFFF) is read to the end. */
export function parseWav(buf: Uint8Array): WavAudio {
  if (!looksLikeWav(buf)) throw new WavError('not a RIFF/WAVE file');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 12;
  let format = -1;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  while (pos + 8 <= buf.length) {
    const id = ascii(buf, pos, 4);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new WavError('truncated fmt chunk');
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === EXTENSIBLE) {
        if (size < 40 || body + 26 > buf.length) throw new WavError('truncated WAVE_FORMAT_EXTENSIBLE fmt chunk');
        format = view.getUint16(body + 24, true); // first two bytes of the SubFormat GUID
      }
    } else if (id === 'data') {
      if (format < 0) throw new WavError('data chunk before fmt chunk');
      const end = size === 0 || body + size > buf.length ? buf.length : body + size;
      return { sampleRate, channels, data: decodeSamples(view, body, end, format, bits, channels, sampleRate) };
    }
    pos = body + size + (size & 1);
  }
  throw new WavError('no data chunk');
}

function decodeSamples(view: DataView, start: number, end: number, format: number, bits: number, channels: number, rate: number): Float32Array {
  if (channels < 1 || rate < 1000 || rate > 384_000) throw new WavError(`unsupported WAV: ${channels} channels at ${rate} Hz`);
  const bytes = bits / 8;
  if (!Number.isInteger(bytes) || bytes < 1) throw new WavError(`unsupported WAV sample size ${bits} bits`);
  const n = Math.floor((end - start) / bytes);
  const out = new Float32Array(n);
  if (format === PCM && bits === 16) {
    for (let i = 0, p = start; i < n; i++, p += 2) out[i] = view.getInt16(p, true) / 32768;
  } else if (format === PCM && bits === 8) {
    for (let i = 0, p = start; i < n; i++, p += 1) out[i] = (view.getUint8(p) - 128) / 128;
  } else if (format === PCM && bits === 24) {
    for (let i = 0, p = start; i < n; i++, p += 3) {
      const v = view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16);
      out[i] = v / 8_388_608;
    }
  } else if (format === PCM && bits === 32) {
    for (let i = 0, p = start; i < n; i++, p += 4) out[i] = view.getInt32(p, true) / 2_147_483_648;
  } else if (format === FLOAT && bits === 32) {
    for (let i = 0, p = start; i < n; i++, p += 4) out[i] = view.getFloat32(p, true);
  } else if (format === FLOAT && bits === 64) {
    for (let i = 0, p = start; i < n; i++, p += 8) out[i] = view.getFloat64(p, true);
  } else {
    throw new WavError(`unsupported WAV encoding (format ${format}, ${bits} bits)`);
  }
  return out;
}

/** Down-mix interleaved channels to mono. */
export function toMono(data: Float32Array, channels: number): Float32Array {
  if (channels === 1) return data;
  const n = Math.floor(data.length / channels);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += data[i * channels + c] ?? 0;
    out[i] = s / channels;
  }
  return out;
}

/** Resample mono floats with a windowed-sinc low-pass (good enough for energy envelopes and far
 *  better than linear interpolation when downsampling 48 kHz). */
export function resample(input: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return input;
  const ratio = to / from;
  const n = Math.floor(input.length * ratio);
  const out = new Float32Array(n);
  const cutoff = Math.min(1, ratio); // relative to the input Nyquist
  const half = 16; // taps each side, in input samples scaled by the cutoff
  const width = Math.ceil(half / cutoff);
  for (let i = 0; i < n; i++) {
    const center = i / ratio;
    const lo = Math.max(0, Math.ceil(center - width));
    const hi = Math.min(input.length - 1, Math.floor(center + width));
    let acc = 0;
    let norm = 0;
    for (let j = lo; j <= hi; j++) {
      const x = (j - center) * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const w = 0.5 + 0.5 * Math.cos((Math.PI * (j - center)) / (width + 1)); // Hann
      const k = sinc * w;
      acc += (input[j] ?? 0) * k;
      norm += k;
    }
    out[i] = norm === 0 ? 0 : acc / norm;
  }
  return out;
}

/** Any parsed WAV as 16 kHz mono floats. */
export function wavTo16kMono(wav: WavAudio): Float32Array {
  return resample(toMono(wav.data, wav.channels), wav.sampleRate, ASR_RATE);
}

/** Floats in [-1, 1] → PCM16 (clipped). */
export function floatToInt16(f: Float32Array): Int16Array {
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const v = Math.round((f[i] ?? 0) * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

/** PCM16 → floats in [-1, 1). */
export function int16ToFloat(s: Int16Array): Float32Array {
  const out = new Float32Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = (s[i] ?? 0) / 32768;
  return out;
}

/** Raw little-endian PCM16 bytes → samples (a trailing odd byte is an error, as numpy's frombuffer). */
export function s16leToInt16(bytes: Uint8Array): Int16Array {
  if (bytes.length % 2 !== 0) throw new WavError('buffer size must be a multiple of element size');
  const out = new Int16Array(bytes.length / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/** A canonical 44-byte-header PCM16 mono WAV. */
export function encodeWav(samples: Int16Array, sampleRate = ASR_RATE): Buffer {
  const buf = Buffer.alloc(44 + samples.length * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + samples.length * 2, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(PCM, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i] ?? 0, 44 + i * 2);
  return buf;
}
