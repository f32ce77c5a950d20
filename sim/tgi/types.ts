// Public types of the simulated TGI server: options, the handle returned by startTgiSim, and the
// typed events tests and benchmarks listen to.
import type { EventEmitter } from 'node:events';
import type { FaultPlan } from '../faults.ts';
import type { GenerateParameters } from './request.ts';

export type TgiRoute = '/generate' | '/generate_stream' | '/' | '/v1/chat/completions';

export interface TgiSimOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Port (default 0 = ephemeral). */
  port?: number;
  /** `model_id` in /info (default by kind: meta-llama/Llama-2-7b-chat-hf or HuggingFaceM4/idefics-9b-instruct). */
  modelId?: string;
  /** 'llm' (text) or 'vlm' (IDEFICS: images count as one token, answers end with <end_of_utterance>). */
  kind?: 'llm' | 'vlm';
  /** Base time to first token, ms (default 180). */
  ttftMs?: number;
  /** Prefill cost per input token, ms (default 0.15). */
  perInputTokenMs?: number;
  /** Inter-token latency, ms (default 28). */
  itlMs?: number;
  /** Uniform jitter fraction (default 0.2 = ±20%), deterministic per request seed; 0 = exact. */
  jitter?: number;
  /** ITL multiplier per extra in-flight request (default 0.002). */
  loadFactor?: number;
  /** Concurrency permits (default 128); beyond it requests get "Model is overloaded". */
  maxConcurrent?: number;
  /** Idle time before the `:\n\n` keep-alive comment on a stream, ms (default 15000; 0 disables). */
  keepAliveMs?: number;
  /** Pre-v2.1 framing `data:{...}` (no space). Default false (`data: {...}`). */
  legacyFraming?: boolean;
  /** Emit `token-emitted` events (adds a timestamp per token; off by default). */
  traceEmits?: boolean;
  /** Probabilistic fault plan (see sim/faults.ts). */
  faults?: FaultPlan;
  /** Answer length range in tokens before the end token (default 40..80, picked per seed). */
  answerTokens?: { min: number; max: number };
  /** /info limits (defaults 4095/4096 for 'llm', 2047/2048 for 'vlm': IDEFICS-9b has a 2048 context). */
  maxInputTokens?: number;
  maxTotalTokens?: number;
  /** Hub pipeline tag; decides the return_full_text default on POST / (default "text-generation"). */
  pipelineTag?: string | null;
  /** Request body limit in bytes (TGI --payload-limit, default 2_000_000). */
  payloadLimit?: number;
  /** `x-compute-type` header (default "gpu+optimized"). */
  computeType?: string;
  /** TGI `--disable-grammar-support`: a request with `grammar` fails validation (default false). */
  disableGrammarSupport?: boolean;
}

export interface RequestEvent {
  id: number;
  route: TgiRoute;
  stream: boolean;
  /** Length of `inputs` in UTF-16 code units. */
  inputsLength: number;
  /** `parameters.seed` as sent (null when absent). */
  seed: number | null;
  params: GenerateParameters;
  /** POST /v1/chat/completions only: `inputs` after the chat template (TGI's `templated_text`). */
  templatedText?: string;
}

export interface RequestClosedEvent {
  id: number;
  route: TgiRoute;
  /** performance.now() when the response closed. */
  atMs: number;
  /** True when the response ran to its natural end (final event, error event, or full body). */
  completed: boolean;
  /** Token events written before the close (for /generate: tokens in the response body, 0 if none). */
  tokensSent: number;
}

export interface TokenEmittedEvent {
  id: number;
  /** The request's seed (as sent, else the random seed drawn for it). */
  seed: number;
  /** StreamResponse.index of the event. */
  index: number;
  /** Wall-clock ms: performance.timeOrigin + performance.now() right after the write. */
  atMs: number;
}

export interface TgiSimEvents {
  request: [RequestEvent];
  'request-closed': [RequestClosedEvent];
  'token-emitted': [TokenEmittedEvent];
}

export interface TgiSim {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  modelId: string;
  kind: 'llm' | 'vlm';
  events: EventEmitter<TgiSimEvents>;
  /** Requests currently holding a concurrency permit. */
  inFlight(): number;
  close(): Promise<void>;
}
