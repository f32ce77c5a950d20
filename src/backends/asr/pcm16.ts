// PCM16 bytes for the wire: whisper-asr-webservice's encode=false upload is raw s16le.
import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';

/** Writes `samples` as s16le bytes into `dst` at `offset` (a plain copy on little-endian hosts). */
export function writePcm16le(samples: Int16Array, dst: Uint8Array, offset: number): void {
  if (LITTLE_ENDIAN) {
    dst.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.length * 2), offset);
    return;
  }
  const v = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let i = 0; i < samples.length; i++) v.setInt16(offset + i * 2, samples[i] as number, true);
}
