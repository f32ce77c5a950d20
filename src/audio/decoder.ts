// createDecoder: the AudioDecoder (types.ts) for a declared input format.
import type { AudioFormat } from '../../protocol/messages.ts';
import { PCM_RATE, type AudioDecoder } from './types.ts';
import { checkFormat } from './formats.ts';
import { PcmDecoder } from './pcm-decoder.ts';
import { loadSpeexResampler } from './resample.ts';
import { ContainerOpusDecoder, RawOpusDecoder } from './opus-decoder.ts';
import { OggOpusDemuxer } from './ogg.ts';
import { WebmOpusDemuxer } from './webm.ts';

/** Builds the decoder of one audio stream (one per audio.start). Rejects unsupported formats with
 *  VlpError AUDIO_FORMAT_UNSUPPORTED. Async so that a decoder may load its codec lazily. */
export async function createDecoder(format: AudioFormat): Promise<AudioDecoder> {
  checkFormat(format);
  const f: AudioFormat = { encoding: format.encoding, sample_rate: format.sample_rate, channels: format.channels };
  switch (f.encoding) {
    case 'pcm16':
    case 'f32':
    case 'mulaw':
      if (f.sample_rate !== PCM_RATE) await loadSpeexResampler(); // the decoder's Resampler needs it
      return new PcmDecoder(f, f.encoding);
    case 'opus':
      return new RawOpusDecoder(f);
    case 'ogg_opus':
      return new ContainerOpusDecoder(f, new OggOpusDemuxer());
    case 'webm_opus':
      return new ContainerOpusDecoder(f, new WebmOpusDemuxer());
    default: {
      const never: never = f.encoding;
      throw new Error(`unhandled audio encoding ${String(never)}`);
    }
  }
}
