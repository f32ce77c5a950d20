// AudioDecoder for the fixed-size encodings (pcm16, f32, mulaw): bytes → samples → 16 kHz.
// 16 kHz input never touches the resampler (pcm16 16k is one memcpy). Other rates own a Resampler
// (a speex state in the shared WASM heap), freed by close(): build through createDecoder(), which
// loads the resampler's module first.
import type { AudioEncoding, AudioFormat } from '../../protocol/messages.ts';
import { PCM_RATE, type AudioDecoder } from './types.ts';
import { f32LeToFloat32, floatToInt16, pcm16LeToInt16, scaleToInt16Range } from './pcm.ts';
import { mulawToInt16 } from './mulaw.ts';
import { Resampler } from './resample.ts';

export type PcmEncoding = Extract<AudioEncoding, 'pcm16' | 'f32' | 'mulaw'>;

const EMPTY = new Int16Array(0);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** decodeTransient() reuses a buffer for chunks up to this size, bytes (0.25 s at 16 kHz; the usual
 *  20 ms chunk is 640 B); larger chunks are decoded into a buffer of their own. */
const TRANSIENT_MAX_BYTES = 8 * 1024;

export class PcmDecoder implements AudioDecoder {
  private resampler: Resampler | undefined;
  private closed = false;
  private readonly bytesPerSample: number;
  /** decodeTransient()'s buffer (16-bit samples and the same bytes), allocated on first use. */
  private scratch: Int16Array | undefined;
  private scratchBytes: Uint8Array | undefined;
  /** The view last returned (kept while chunks keep their size: no view per chunk). */
  private view: Int16Array = EMPTY;

  constructor(
    readonly format: AudioFormat,
    private readonly encoding: PcmEncoding,
  ) {
    this.resampler = format.sample_rate === PCM_RATE ? undefined : new Resampler(format.sample_rate, PCM_RATE);
    this.bytesPerSample = encoding === 'pcm16' ? 2 : encoding === 'f32' ? 4 : 1;
  }

  decode(chunk: Uint8Array): Int16Array {
    if (this.closed) throw new Error('audio decoder is closed');
    const r = this.resampler;
    switch (this.encoding) {
      case 'pcm16': {
        const s = pcm16LeToInt16(chunk);
        return r ? r.process(s) : s;
      }
      case 'f32': {
        const f = f32LeToFloat32(chunk);
        return r ? r.process(scaleToInt16Range(f)) : floatToInt16(f);
      }
      case 'mulaw': {
        const s = mulawToInt16(chunk);
        return r ? r.process(s) : s;
      }
      default: {
        const never: never = this.encoding;
        throw new Error(`unhandled PCM encoding ${String(never)}`);
      }
    }
  }

  /** PCM16 at 16 kHz: one copy of the bytes into a reused buffer. Everything else, and every
   *  chunk decode() would refuse, goes through decode(). */
  decodeTransient(chunk: Uint8Array): Int16Array {
    const n = chunk.length;
    if (this.encoding !== 'pcm16' || this.resampler !== undefined || !LITTLE_ENDIAN || n > TRANSIENT_MAX_BYTES || n % 2 !== 0 || this.closed) return this.decode(chunk);
    if (this.scratch === undefined || this.scratchBytes === undefined || this.scratchBytes.length < n) {
      this.scratch = new Int16Array(n / 2); // sized by the chunks the client sends (grows if they do)
      this.scratchBytes = new Uint8Array(this.scratch.buffer);
    }
    this.scratchBytes.set(chunk);
    if (this.view.length !== n / 2 || this.view.buffer !== this.scratch.buffer) this.view = this.scratch.subarray(0, n / 2);
    return this.view;
  }

  inputMs(chunk: Uint8Array): number {
    return (Math.floor(chunk.length / this.bytesPerSample) * 1000) / this.format.sample_rate;
  }

  flush(): Int16Array {
    if (this.closed || !this.resampler) return EMPTY;
    return this.resampler.flush();
  }

  close(): void {
    this.closed = true;
    this.resampler?.close();
    this.resampler = undefined;
  }
}
