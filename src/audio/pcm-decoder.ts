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

export class PcmDecoder implements AudioDecoder {
  private resampler: Resampler | undefined;
  private closed = false;
  private readonly bytesPerSample: number;

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
