// Which input formats the gateway accepts (SPEC.md "audio.start"); everything else is
// AUDIO_FORMAT_UNSUPPORTED before any decoder is built.
//
// Opus (raw, Ogg, WebM): libopus decodes any Opus stream at any of 8/12/16/24/48 kHz whatever rate
// it was encoded at, so the gateway decodes straight at 16 kHz and no resampler is involved. The
// declared sample_rate is then informational; we accept the rates SPEC.md lists (8000, 16000,
// 24000, 48000; MediaRecorder declares 48000).
import type { AudioEncoding, AudioFormat } from '../../protocol/messages.ts';
import { VlpError } from '../../protocol/errors.ts';

/** Input rates of PCM16 and f32 (each is resampled to 16 kHz by resample.ts, 16 kHz passes as is). */
export const PCM_INPUT_RATES: readonly number[] = [8000, 16000, 24000, 48000];
/** G.711 µ-law is telephone audio: 8 kHz only. */
export const MULAW_RATES: readonly number[] = [8000];
/** Opus streams: decoded at 16 kHz whatever the declared rate (see the header comment). */
export const OPUS_RATES: readonly number[] = [8000, 16000, 24000, 48000];

/** The sample rates accepted for one encoding. */
export function ratesFor(encoding: AudioEncoding): readonly number[] {
  switch (encoding) {
    case 'pcm16':
    case 'f32':
      return PCM_INPUT_RATES;
    case 'mulaw':
      return MULAW_RATES;
    case 'opus':
    case 'ogg_opus':
    case 'webm_opus':
      return OPUS_RATES;
    default: {
      const never: never = encoding;
      throw new VlpError('AUDIO_FORMAT_UNSUPPORTED', `unknown audio encoding ${JSON.stringify(never)}`);
    }
  }
}

/** Throws VlpError AUDIO_FORMAT_UNSUPPORTED unless the gateway can decode `f`. */
export function checkFormat(f: AudioFormat): void {
  if (f.channels !== 1) {
    throw new VlpError('AUDIO_FORMAT_UNSUPPORTED', `audio must be mono (channels 1), got channels ${String(f.channels)}`);
  }
  const rates = ratesFor(f.encoding);
  if (!rates.includes(f.sample_rate)) {
    throw new VlpError(
      'AUDIO_FORMAT_UNSUPPORTED',
      `${f.encoding} audio at ${String(f.sample_rate)} Hz is not supported; use ${rates.join(', ')} Hz`,
    );
  }
}

/** Bytes per sample of the fixed-size encodings; undefined for Opus (variable bit rate). */
export function bytesPerSample(encoding: AudioEncoding): number | undefined {
  switch (encoding) {
    case 'pcm16':
      return 2;
    case 'f32':
      return 4;
    case 'mulaw':
      return 1;
    case 'opus':
    case 'ogg_opus':
    case 'webm_opus':
      return undefined;
    default: {
      const never: never = encoding;
      throw new VlpError('AUDIO_FORMAT_UNSUPPORTED', `unknown audio encoding ${JSON.stringify(never)}`);
    }
  }
}
