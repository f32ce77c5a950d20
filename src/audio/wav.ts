// RIFF/WAVE reading and PCM16 writing (the CLI sends WAV files; the SageMaker Whisper adapter
// posts utterances as WAV).

export type WavSampleFormat = 'pcm' | 'float' | 'mulaw';

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  format: WavSampleFormat;
  /** The sample bytes (a view into the input), whole frames only. */
  data: Uint8Array;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of the KSDATAFORMAT_SUBTYPE GUIDs: 0000xxxx-0000-0010-8000-00aa00389b71. */
const SUBTYPE_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
/** Streaming writers (ffmpeg to a pipe) leave the data size at this (or 0) and write on. */
const SIZE_UNKNOWN = 0xffffffff;

function fourcc(dv: DataView, at: number): string {
  return String.fromCharCode(dv.getUint8(at), dv.getUint8(at + 1), dv.getUint8(at + 2), dv.getUint8(at + 3));
}

/** Parses a WAV file; throws an Error saying what is wrong for anything it cannot read. */
export function parseWav(bytes: Uint8Array): WavInfo {
  if (bytes.length < 12) throw new Error(`not a WAV file: ${bytes.length} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (fourcc(dv, 0) !== 'RIFF' || fourcc(dv, 8) !== 'WAVE') throw new Error('not a WAV file: no RIFF/WAVE header');
  let fmt: Omit<WavInfo, 'data'> | undefined;
  let blockAlign = 0;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = fourcc(dv, at);
    const size = dv.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (body + size > bytes.length) throw new Error('WAV fmt chunk is truncated');
      ({ fmt, blockAlign } = readFmt(dv, body, size));
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data chunk comes before the fmt chunk');
      const available = bytes.length - body;
      let len = size;
      if (size === SIZE_UNKNOWN || size === 0 || size > available) len = available; // streamed or truncated file
      len -= len % blockAlign;
      return { ...fmt, data: bytes.subarray(body, body + len) };
    }
    at = body + size + (size % 2); // chunks are padded to even sizes
  }
  throw new Error(fmt ? 'WAV file has no data chunk' : 'WAV file has no fmt chunk');
}

function readFmt(dv: DataView, at: number, size: number): { fmt: Omit<WavInfo, 'data'>; blockAlign: number } {
  if (size < 16) throw new Error(`WAV fmt chunk is ${size} bytes, at least 16 expected`);
  let code = dv.getUint16(at, true);
  const channels = dv.getUint16(at + 2, true);
  const sampleRate = dv.getUint32(at + 4, true);
  const blockAlign = dv.getUint16(at + 12, true);
  const bitsPerSample = dv.getUint16(at + 14, true);
  if (code === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40 || dv.getUint16(at + 16, true) < 22) throw new Error('WAVE_FORMAT_EXTENSIBLE fmt chunk is too short');
    const sub = at + 24;
    for (let i = 0; i < SUBTYPE_TAIL.length; i++) {
      if (dv.getUint8(sub + 2 + i) !== SUBTYPE_TAIL[i]) throw new Error('WAV sub-format GUID is not a standard audio sub-format');
    }
    code = dv.getUint16(sub, true);
  }
  if (channels === 0) throw new Error('WAV file declares 0 channels');
  if (sampleRate === 0) throw new Error('WAV file declares a sample rate of 0');
  let format: WavSampleFormat;
  switch (code) {
    case WAVE_FORMAT_PCM:
      if (![8, 16, 24, 32].includes(bitsPerSample)) throw new Error(`WAV PCM with ${bitsPerSample} bits per sample is not supported`);
      format = 'pcm';
      break;
    case WAVE_FORMAT_IEEE_FLOAT:
      if (bitsPerSample !== 32 && bitsPerSample !== 64) throw new Error(`WAV float with ${bitsPerSample} bits per sample is not supported`);
      format = 'float';
      break;
    case WAVE_FORMAT_MULAW:
      if (bitsPerSample !== 8) throw new Error(`WAV µ-law with ${bitsPerSample} bits per sample is not supported`);
      format = 'mulaw';
      break;
    default:
      throw new Error(`WAV format code 0x${code.toString(16).padStart(4, '0')} is not supported (PCM, float or µ-law only)`);
  }
  if (blockAlign !== (channels * bitsPerSample) / 8) {
    throw new Error(`WAV block align ${blockAlign} does not match ${channels} channels × ${bitsPerSample} bits`);
  }
  return { fmt: { sampleRate, channels, bitsPerSample, format }, blockAlign };
}

/** A mono/any-rate PCM16 WAV file (44-byte header) of `samples`. */
export function encodeWavPcm16(samples: Int16Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`sample rate must be a positive integer, got ${sampleRate}`);
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const dv = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) dv.setUint8(at + i, s.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  dv.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, WAVE_FORMAT_PCM, true);
  dv.setUint16(22, 1, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * 2, true);
  dv.setUint16(32, 2, true);
  dv.setUint16(34, 16, true);
  ascii(36, 'data');
  dv.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) dv.setInt16(44 + 2 * i, samples[i] as number, true);
  return out;
}
