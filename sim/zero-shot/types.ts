// Public types of the simulated zero-shot-classification server: options, the handle returned by
// startZeroShotSim, fault kinds and the events tests and benchmarks listen to.
import type { EventEmitter } from 'node:events';

/** What a request can be made to fail with (by directive `[[sim:fault=<kind>]]` in `inputs`, the
 *  injectFault queue, or the per-kind probabilities). */
export const ZERO_SHOT_FAULTS = [
  'loading_503', // HF Inference API cold start: 503 {"error":"Model … is currently loading","estimated_time":20.0}
  'overloaded_429', // rate limited
  'error_500', // the pipeline raised (CUDA OOM)
  'malformed', // 200 with a body cut mid-JSON
  'bad_shape', // 200 with JSON of the wrong shape (labels and scores of different lengths)
  'oversize', // 200 with a multi-megabyte body
  'reset', // socket destroyed instead of an answer
  'stall', // never answers
  'slow', // answers after 10× the usual latency
] as const;

export type ZeroShotFaultKind = (typeof ZERO_SHOT_FAULTS)[number];

export interface ZeroShotLatency {
  /** Fixed cost of a request (tokenization, HTTP, Python), ms. Default 8. */
  baseMs?: number;
  /** One NLI forward pass per (sequence, candidate label) pair, batched on the GPU, ms. Default 2.5
   *  (mDeBERTa-v3-base on a T4/A10G: 10 labels ≈ 25–35 ms in all). */
  perLabelMs?: number;
  /** Uniform jitter fraction, deterministic per input (default 0.25 = ±25%); 0 = exact. */
  jitter?: number;
}

export interface ZeroShotSimOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Port (default 0 = ephemeral). */
  port?: number;
  /** Model named in errors (default the seed's MoritzLaurer/mDeBERTa-v3-base-xnli-multilingual-nli-2mil7). */
  modelId?: string;
  /** 'pipeline' (default): the transformers pipeline's `{sequence, labels, scores}` as HF Inference
   *  Endpoints / the inference toolkit return it; 'list': the `[{label, score}, …]` of the newer
   *  HF Inference API (sorted the same way). */
  format?: 'pipeline' | 'list';
  latency?: ZeroShotLatency;
  /** Requests computed at once (default 1: one GPU runs one batch at a time; the rest queue). */
  workers?: number;
  /** Softmax sharpness over the candidates' evidence (default 1.2). */
  sharpness?: number;
  /** Answer 503 "currently loading" for this long after start, ms (default 0). */
  loadingMs?: number;
  /** `estimated_time` in the loading error, seconds (default 20). */
  estimatedTimeS?: number;
  /** Request body limit, bytes (default 1 MB). */
  payloadLimit?: number;
  faults?: { probabilities?: Partial<Record<ZeroShotFaultKind, number>>; seed?: number };
}

export interface ZeroShotRequestEvent {
  id: number;
  path: string;
  /** Number of sequences (1 for a string `inputs`). */
  sequences: number;
  candidateLabels: string[];
  hypothesisTemplate: string;
  multiLabel: boolean;
  fault: ZeroShotFaultKind | null;
}

export interface ZeroShotClosedEvent {
  id: number;
  /** True when the response was written in full (success or error), false when the client left. */
  completed: boolean;
  atMs: number;
}

export interface ZeroShotSimEvents {
  request: [ZeroShotRequestEvent];
  'request-closed': [ZeroShotClosedEvent];
}

export interface ZeroShotSim {
  /** http://127.0.0.1:PORT (POST here, or to /predict, or to /models/<model id>). */
  url: string;
  port: number;
  modelId: string;
  events: EventEmitter<ZeroShotSimEvents>;
  /** Make the next `count` requests fail with `kind`. */
  injectFault(kind: ZeroShotFaultKind, count?: number): void;
  /** Requests being computed or queued. */
  inFlight(): number;
  close(): Promise<void>;
}
