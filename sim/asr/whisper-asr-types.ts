// Public constants and types of the simulated whisper-asr-webservice (whisper-asr.ts): options,
// fault kinds, events, counters, and the handle startWhisperAsrSim returns.
import type { EventEmitter } from 'node:events';
import type { AsrLatency } from './asr-latency.ts';
import type { AsrEngine } from './asr-output.ts';
import type { ClipBook } from './clip-book.ts';

export const WHISPER_ASR_ADMIN_PATH = '/__sim/faults';

export const WHISPER_ASR_FAULT_KINDS = [
  'error_500', // after the base latency: 500 "Internal Server Error" (an exception in the model, e.g. CUDA OOM)
  'slow', // latency × slowFactor (10)
  'reset', // after half the latency the TCP connection is destroyed, no response
  'stall', // no response until the client goes away
] as const;
export type WhisperAsrFaultKind = (typeof WHISPER_ASR_FAULT_KINDS)[number];

export interface WhisperAsrSimOptions extends Partial<AsrLatency> {
  host?: string;
  /** Default 0 (ephemeral); the real service listens on 9000. */
  port?: number;
  /** ASR_ENGINE (default openai_whisper, the service's default): output writers, JSON shape,
   *  `Asr-Engine` header, language/task validation. */
  engine?: AsrEngine;
  /** Transcriptions running at once (default 1, like the real service); others wait in line. */
  concurrency?: number;
  /** Reject unknown `task`/`language`/`output` values with 422 (the real service does not). */
  strictEnums?: boolean;
  /** ffmpeg for non-WAV uploads with encode=true (default "ffmpeg"; false: such uploads fail with 500). */
  ffmpeg?: string | false;
  /** A fault for every request (the admin queue wins when it has one). */
  fault?: WhisperAsrFaultKind;
  /** Latency multiplier of the `slow` fault (default 10). */
  slowFactor?: number;
  clipBook?: ClipBook;
  seed?: number;
}

export type WhisperAsrRoute = 'asr' | 'detect-language';

export interface WhisperAsrRequestEvent {
  id: number;
  route: WhisperAsrRoute;
  /** Query as sent (last value of each key). */
  query: Record<string, string>;
  filename: string | null;
  audioBytes: number;
  audioMs: number;
  fault: WhisperAsrFaultKind | null;
}

export interface WhisperAsrRequestClosedEvent {
  id: number;
  route: WhisperAsrRoute | 'other';
  /** performance.now() when the response closed. */
  atMs: number;
  /** The response was sent in full (any status). False: the client left first, or a reset fault. */
  completed: boolean;
  status: number | null;
}

export interface WhisperAsrSimEvents {
  request: [WhisperAsrRequestEvent];
  'request-closed': [WhisperAsrRequestClosedEvent];
}

export interface WhisperAsrStats {
  requests: number;
  completed: number;
  aborted: number;
  /** Transcribing now / waiting for the model. */
  running: number;
  queued: number;
}

export interface WhisperAsrSim {
  /** http://host:port */
  url: string;
  port: number;
  engine: AsrEngine;
  events: EventEmitter<WhisperAsrSimEvents>;
  stats(): WhisperAsrStats;
  queueFault(kind: WhisperAsrFaultKind, count?: number): void;
  clearFaults(): number;
  close(): Promise<void>;
}
