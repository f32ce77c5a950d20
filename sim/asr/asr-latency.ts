// Latency model of a simulated Whisper transcription (whisper-asr-webservice and the SageMaker
// JumpStart Whisper container): a fixed cost plus a cost per second of audio, with uniform jitter.
import type { Rand } from '../random.ts';

export interface AsrLatency {
  /** Fixed cost per request (upload, mel, decoder start), ms. */
  baseMs: number;
  /** Cost per second of audio, ms (whisper-large-v3 fp16 on an A10G-class GPU decodes ~25× real time). */
  perAudioSecondMs: number;
  /** Uniform jitter fraction. */
  jitter: number;
}

export const DEFAULT_ASR_LATENCY: AsrLatency = { baseMs: 150, perAudioSecondMs: 40, jitter: 0.2 };

export function asrDelayMs(l: AsrLatency, audioSec: number, rand: Rand): number {
  const ms = l.baseMs + l.perAudioSecondMs * audioSec;
  return l.jitter === 0 ? ms : ms * (1 + (rand() * 2 - 1) * l.jitter);
}
