// Per-server state of the simulated TGI: resolved options, metrics, fault injector, concurrency
// permits and the set of in-flight jobs to cancel on close.
import { EventEmitter } from 'node:events';
import { FaultInjector, type FaultPlan } from '../faults.ts';
import { resolveLatency, type LatencyConfig } from '../latency.ts';
import { TgiMetrics } from './metrics.ts';
import type { TgiSimEvents, TgiSimOptions } from './types.ts';
import { DEFAULT_LIMITS, type ValidationLimits } from './validate.ts';

export const DEFAULT_MODEL_IDS = {
  llm: 'meta-llama/Llama-2-7b-chat-hf',
  vlm: 'HuggingFaceM4/idefics-9b-instruct',
} as const;

export interface ResolvedOptions {
  host: string;
  port: number;
  modelId: string;
  kind: 'llm' | 'vlm';
  latency: LatencyConfig;
  maxConcurrent: number;
  keepAliveMs: number;
  legacyFraming: boolean;
  traceEmits: boolean;
  limits: ValidationLimits;
  answerTokens: { min: number; max: number };
  pipelineTag: string | null;
  payloadLimit: number;
  computeType: string;
  disableGrammarSupport: boolean;
  faults: FaultPlan;
}

export function resolveOptions(o: TgiSimOptions): ResolvedOptions {
  const kind = o.kind ?? (o.modelId?.toLowerCase().includes('idefics') ? 'vlm' : 'llm');
  const maxTotal = o.maxTotalTokens ?? (kind === 'vlm' ? 2048 : DEFAULT_LIMITS.maxTotalTokens);
  return {
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    modelId: o.modelId ?? DEFAULT_MODEL_IDS[kind],
    kind,
    latency: resolveLatency({
      ttftMs: o.ttftMs,
      perInputTokenMs: o.perInputTokenMs,
      itlMs: o.itlMs,
      jitter: o.jitter,
      loadFactor: o.loadFactor,
    }),
    maxConcurrent: o.maxConcurrent ?? 128,
    keepAliveMs: o.keepAliveMs ?? 15_000,
    legacyFraming: o.legacyFraming ?? false,
    traceEmits: o.traceEmits ?? false,
    limits: { ...DEFAULT_LIMITS, maxTotalTokens: maxTotal, maxInputTokens: o.maxInputTokens ?? maxTotal - 1 },
    answerTokens: o.answerTokens ?? { min: 40, max: 80 },
    pipelineTag: o.pipelineTag === undefined ? 'text-generation' : o.pipelineTag,
    payloadLimit: o.payloadLimit ?? 2_000_000,
    computeType: o.computeType ?? 'gpu+optimized',
    disableGrammarSupport: o.disableGrammarSupport ?? false,
    faults: o.faults ?? {},
  };
}

/** Something in flight that must stop its timers when the server closes. */
export interface Job {
  cancel(): void;
}

export class SimContext {
  readonly events = new EventEmitter<TgiSimEvents>();
  readonly metrics: TgiMetrics;
  readonly faults: FaultInjector;
  readonly jobs = new Set<Job>();
  /** Requests holding a concurrency permit. */
  inFlight = 0;
  /** Requests waiting for their first token (tgi_queue_size). */
  prefilling = 0;
  /** Token budget of decoding requests (tgi_batch_current_max_tokens). */
  batchTokens = 0;
  private nextId = 1;

  constructor(readonly opts: ResolvedOptions) {
    this.metrics = new TgiMetrics(opts.limits.maxInputTokens, opts.limits.maxTotalTokens);
    this.faults = new FaultInjector(opts.faults);
  }

  newId(): number {
    return this.nextId++;
  }

  /** Try to take `n` permits (TGI's semaphore try_acquire). */
  acquire(n = 1): boolean {
    if (this.inFlight + n > this.opts.maxConcurrent) return false;
    this.inFlight += n;
    return true;
  }

  release(n = 1): void {
    this.inFlight = Math.max(0, this.inFlight - n);
  }

  /** Move a request from prefill to decode (gauges). */
  startDecoding(tokens: number): void {
    this.prefilling = Math.max(0, this.prefilling - 1);
    this.batchTokens += tokens;
    this.syncGauges();
  }

  stopDecoding(tokens: number): void {
    this.batchTokens = Math.max(0, this.batchTokens - tokens);
    this.syncGauges();
  }

  syncGauges(): void {
    this.metrics.queueSize.set(this.prefilling);
    this.metrics.batchCurrentSize.set(Math.max(0, this.inFlight - this.prefilling));
    this.metrics.batchCurrentMaxTokens.set(this.batchTokens);
  }
}
