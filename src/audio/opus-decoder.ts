// AudioDecoders for Opus: raw packets (one per audio.chunk) and Ogg/WebM containers. Opus is
// decoded straight at 16 kHz (libopus resamples internally), so no resampler is involved.
import type { AudioFormat } from '../../protocol/messages.ts';
import { VlpError } from '../../protocol/errors.ts';
import type { AudioDecoder } from './types.ts';
import { OpusDecodeError, OpusPacketDecoder } from './opus-native.ts';
import { opusPacketMs, opusPacketSamples48k } from './opus-toc.ts';
import type { OpusDemuxer } from './demux.ts';
import { concatSamples } from './concat-samples.ts';

const EMPTY = new Int16Array(0);
/** One container chunk may carry at most this much audio (a 64 KiB chunk of tiny Opus packets
 *  could otherwise expand to tens of minutes of PCM); packets beyond it are refused. Also bounds
 *  the samples kept back after an error. */
export const MAX_CHUNK_AUDIO_MS = 30_000;
const MAX_CHUNK_SAMPLES_48K = MAX_CHUNK_AUDIO_MS * 48;
const MAX_CARRY_SAMPLES = MAX_CHUNK_AUDIO_MS * 16;

function invalid(err: unknown): never {
  if (err instanceof OpusDecodeError) throw new VlpError('AUDIO_CHUNK_INVALID', err.message);
  throw err;
}

/** `opus`: each chunk is one raw Opus packet. */
export class RawOpusDecoder implements AudioDecoder {
  private readonly opus = new OpusPacketDecoder();

  constructor(readonly format: AudioFormat) {}

  decode(chunk: Uint8Array): Int16Array {
    try {
      return this.opus.decode(chunk);
    } catch (err) {
      return invalid(err);
    }
  }

  decodeTransient(chunk: Uint8Array): Int16Array {
    return this.decode(chunk);
  }

  /** From the packet's TOC byte, before decoding; undefined when the TOC is malformed. */
  inputMs(chunk: Uint8Array): number | undefined {
    return opusPacketMs(chunk);
  }

  flush(): Int16Array {
    return EMPTY;
  }

  close(): void {
    this.opus.close();
  }
}

/** `ogg_opus` / `webm_opus`: container bytes split anywhere. */
export class ContainerOpusDecoder implements AudioDecoder {
  private readonly opus = new OpusPacketDecoder();
  /** Decoded samples still to drop: the stream's pre-skip (encoder delay), at 16 kHz. */
  private skip = 0;
  /** Samples decoded in a chunk that then failed: handed out with the next call. */
  private carry: Int16Array = EMPTY;
  private closed = false;

  constructor(
    readonly format: AudioFormat,
    private readonly demuxer: OpusDemuxer,
  ) {}

  decode(chunk: Uint8Array): Int16Array {
    if (this.closed) throw new Error('audio decoder is closed');
    const r = this.demuxer.push(chunk);
    if (r.head) this.skip = Math.round(r.head.preSkip48k / 3);
    let error = r.error;
    const parts: Int16Array[] = this.carry.length > 0 ? [this.carry] : [];
    this.carry = EMPTY;
    let budget = MAX_CHUNK_SAMPLES_48K;
    for (const packet of r.packets) {
      const samples48k = opusPacketSamples48k(packet) ?? 0;
      if (samples48k > budget) {
        error ??= `chunk carries more than ${MAX_CHUNK_AUDIO_MS} ms of audio`;
        break;
      }
      budget -= samples48k;
      let pcm: Int16Array;
      try {
        pcm = this.opus.decode(packet);
      } catch (err) {
        if (!(err instanceof OpusDecodeError)) throw err;
        error ??= err.message;
        continue;
      }
      if (this.skip > 0) {
        const drop = Math.min(this.skip, pcm.length);
        this.skip -= drop;
        pcm = pcm.subarray(drop);
      }
      if (pcm.length > 0) parts.push(pcm);
    }
    const out = concatSamples(parts);
    if (error !== undefined) {
      if (out.length <= MAX_CARRY_SAMPLES) this.carry = out;
      throw new VlpError('AUDIO_CHUNK_INVALID', error);
    }
    return out;
  }

  decodeTransient(chunk: Uint8Array): Int16Array {
    return this.decode(chunk);
  }

  inputMs(): undefined {
    return undefined;
  }

  /** The samples held back by a failed chunk, if any (the demuxer holds no audio). */
  flush(): Int16Array {
    const c = this.carry;
    this.carry = EMPTY;
    return c;
  }

  close(): void {
    this.closed = true;
    this.carry = EMPTY;
    this.opus.close();
  }
}
