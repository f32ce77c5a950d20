// Configuration of the three ASR adapters: one discriminated union (the composition root maps the
// gateway config onto it) and the defaults every adapter applies in one place.
import type { StaticAwsCredentials } from '../sagemaker/index.ts';

/** The audio every adapter takes: 16 kHz mono PCM16 (the gateway's internal rate). */
export const ASR_SAMPLE_RATE = 16_000;
export const SAMPLES_PER_MS = ASR_SAMPLE_RATE / 1000;

/** Settings every ASR adapter reads (all optional; defaults in ASR_DEFAULTS). */
export interface AsrCommonConfig {
  /** Batch adapters (whisper-asr, sagemaker): re-transcription period of the utterance in
   *  progress, ms. Ignored by WhisperLive, which produces partials itself. Default 700. */
  partialIntervalMs?: number;
  /** WhisperLive: after speechEnd, wait at most this long for the server to complete the
   *  utterance's last segment before the final is made from the last partial, ms. Default 1500. */
  finalizeTimeoutMs?: number;
  /** WhisperLive: connect + SERVER_READY (model load) deadline. Batch adapters: deadline of one
   *  transcription request (partial or final), ms → UPSTREAM_TIMEOUT. Default 15000. */
  requestTimeoutMs?: number;
  /** Longest utterance, ms: at this length the adapter cuts it, emits its final and goes on with
   *  the rest of the speech as a new utterance. Default 30000 (Whisper's window). */
  maxUtteranceMs?: number;
}

export interface WhisperLiveConfig extends AsrCommonConfig {
  kind: 'whisperlive';
  /** ws:// or wss:// URL of the WhisperLive server (any path). */
  url: string;
  /** Model the server loads for this client (faster_whisper names). Default "small". */
  model?: string;
  /** Server-side VAD (Silero). Default false: the gateway runs its own VAD and sends all audio. */
  useVad?: boolean;
  /** Completed segments repeated in each `segments` window. Default 10 (the server's default). */
  sendLastNSegments?: number;
  /** Segments with a no-speech probability above this are dropped by the server (server
   *  default 0.45 when unset). */
  noSpeechThresh?: number;
  /** Identical in-progress outputs after which the server completes a segment (server default 10
   *  when unset). Lower values complete the last segment of an utterance sooner. */
  sameOutputThreshold?: number;
  /** write() returns false once this many bytes wait in the socket, bytes. Default 128 KiB
   *  (2 s of float32 audio). onDrain fires when it falls to a quarter of it. */
  highWaterMarkBytes?: number;
  /** Audio kept while waiting for SERVER_READY, ms; older audio is dropped. Default 10000. */
  preReadyBufferMs?: number;
}

export interface WhisperAsrConfig extends AsrCommonConfig {
  kind: 'whisper-asr';
  /** http(s):// base URL of whisper-asr-webservice (a path prefix is kept). */
  url: string;
  /** Response format asked for; only json is understood. Default "json". */
  output?: 'json';
  /** TCP connect timeout, ms → UPSTREAM_UNAVAILABLE. Default 3000. */
  connectTimeoutMs?: number;
}

export interface SageMakerAsrConfig extends AsrCommonConfig {
  kind: 'sagemaker';
  /** A JumpStart Whisper endpoint (huggingface-asr-whisper-*). */
  endpointName: string;
  /** Default: the SDK's region chain. */
  region?: string;
  /** Runtime URL override (the simulator, a VPC endpoint). */
  endpointUrl?: string;
  /** Static credentials (tests); default: the SDK's credential chain. */
  credentials?: StaticAwsCredentials;
  targetVariant?: string;
  inferenceComponent?: string;
  /** TCP connect timeout, ms. Default: none besides requestTimeoutMs. */
  connectTimeoutMs?: number;
}

export type AsrBackendConfig = WhisperLiveConfig | WhisperAsrConfig | SageMakerAsrConfig;

export const ASR_DEFAULTS = {
  partialIntervalMs: 700,
  finalizeTimeoutMs: 1_500,
  requestTimeoutMs: 15_000,
  maxUtteranceMs: 30_000,
  whisperLiveModel: 'small',
  sendLastNSegments: 10,
  highWaterMarkBytes: 128 * 1024,
  preReadyBufferMs: 10_000,
  connectTimeoutMs: 3_000,
  /** Audio kept before the VAD's speech start by the batch adapters, ms. */
  preRollMs: 300,
} as const;

/** The common settings with defaults applied. */
export interface ResolvedCommon {
  partialIntervalMs: number;
  finalizeTimeoutMs: number;
  requestTimeoutMs: number;
  maxUtteranceMs: number;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`asr backend: ${name} must be a positive number (got ${v})`);
  return v;
}

export function resolveCommon(cfg: AsrCommonConfig): ResolvedCommon {
  return {
    partialIntervalMs: positive('partialIntervalMs', cfg.partialIntervalMs, ASR_DEFAULTS.partialIntervalMs),
    finalizeTimeoutMs: positive('finalizeTimeoutMs', cfg.finalizeTimeoutMs, ASR_DEFAULTS.finalizeTimeoutMs),
    requestTimeoutMs: positive('requestTimeoutMs', cfg.requestTimeoutMs, ASR_DEFAULTS.requestTimeoutMs),
    maxUtteranceMs: positive('maxUtteranceMs', cfg.maxUtteranceMs, ASR_DEFAULTS.maxUtteranceMs),
  };
}

export { positive as positiveOption };
