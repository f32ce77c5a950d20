// The ASR port: a live speech-to-text stream as the session sees it, independent of the vendor
// (WhisperLive WebSocket, whisper-asr-webservice HTTP, SageMaker Whisper endpoint).
//
// The session feeds every decoded sample (16 kHz mono PCM16, in order) and the gateway VAD's
// utterance boundaries; the adapter reports partial transcripts of the utterance in progress and
// exactly one final transcript per speechEnd().
import type { VlpError } from '../../../protocol/errors.ts';

export interface AsrOptions {
  /** Whisper language code ("en", "zh"); undefined = auto-detect. */
  language?: string;
  task: 'transcribe' | 'translate';
  /** Text that primes the decoder (names, domain words). */
  initialPrompt?: string;
  /** Ask for word timestamps where the backend supports them. */
  wordTimestamps?: boolean;
}

export type AsrEvent =
  /** The utterance so far: `stable` words will not change, `unstable` may still be revised.
   *  Whole text, not a delta: `stable + unstable` is the text (when both are non-empty and the
   *  language separates words with spaces, `unstable` starts with the space). Only emitted when
   *  the text changed. The final may still differ from the last partial. */
  | { kind: 'partial'; stable: string; unstable: string }
  /** The utterance's final text (may be empty: nothing intelligible), once per speechEnd(); an
   *  utterance longer than the adapter's maxUtteranceMs is cut there and gets a final of its own
   *  (the rest of the speech goes on as a new utterance). */
  | { kind: 'final'; text: string; language?: string }
  /** The stream failed (UPSTREAM_* code); no more events follow. */
  | { kind: 'error'; error: VlpError };

export interface AsrHandlers {
  onEvent(ev: AsrEvent): void;
  /** The service accepted the stream (WhisperLive: SERVER_READY), before any transcript. Adapters
   *  that contact the service per utterance (whisper-asr, SageMaker) never call it. Optional for
   *  consumers: the ASR gate (gate.ts) uses it as the stream's first sign of life. */
  onReady?(): void;
}

export interface AsrCapabilities {
  /** open() contacts the service and handlers.onReady says it accepted the stream (WhisperLive's
   *  SERVER_READY). Absent/false: the adapter contacts the service per utterance. */
  readySignal?: boolean;
  /** The backend produces partials itself as audio streams (WhisperLive); false = the adapter
   *  re-transcribes the utterance in progress periodically to make partials. */
  livePartials: boolean;
  translate: boolean;
}

export interface AsrStream {
  /** Append samples (16 kHz mono PCM16, stream order). Returns false when the upstream is not
   *  keeping up: the caller keeps further audio in its own bounded ring and waits for onDrain.
   *  The adapter never buffers more than its documented bound. `samples` is valid only during the
   *  call (the session reuses the buffer for the next chunk): the adapter copies what it keeps. */
  write(samples: Int16Array): boolean;
  /** Called once each time the stream can take audio again after write() returned false. */
  onDrain(cb: () => void): void;
  /** The gateway VAD heard speech start at this sample (since the stream began). */
  speechStart(atSample: number): void;
  /** End of the utterance at this sample: finalize it and emit exactly one `final`. */
  speechEnd(atSample: number): void;
  /** Close the upstream connection/requests at once; no events after this. Idempotent. */
  close(): void;
}

export interface AsrBackend {
  /** Stable id for logs/metrics. Never branch on it. */
  readonly id: string;
  readonly capabilities: AsrCapabilities;
  /** Open one live stream (one per audio.start). Connection failures arrive as an `error` event. */
  open(opts: AsrOptions, handlers: AsrHandlers): AsrStream;
  /** Cheap liveness probe, for /readyz. */
  probe(timeoutMs: number): Promise<boolean>;
  /** Release pooled connections. */
  close(): Promise<void>;
}
