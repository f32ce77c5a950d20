// Latency model shared by the simulated services: time to first token (queue + prefill), inter-token
// latency that grows with the number of in-flight requests, and uniform jitter from a seeded PRNG.
import type { Rand } from './random.ts';

export interface LatencyConfig {
  /** Base time to first token (queue + prefill of a short prompt), ms. */
  ttftMs: number;
  /** Extra prefill cost per input token, ms. */
  perInputTokenMs: number;
  /** Inter-token latency of one request decoding alone, ms. */
  itlMs: number;
  /** Uniform jitter as a fraction: 0.2 = each delay is multiplied by a factor in [0.8, 1.2]. */
  jitter: number;
  /** Continuous-batching slowdown: ITL is multiplied by 1 + loadFactor * (inFlight - 1). */
  loadFactor: number;
}

/** Defaults modelled on Llama-2-7b fp16 on one 24 GB GPU (A10G-class, ~600 GB/s): ~14 GB of
 *  weights read per decode step gives ~25-30 ms per token; a short prompt's prefill plus router
 *  overhead is ~150-200 ms; a 128-way batch decodes ~25% slower than a single request. */
export const DEFAULT_LATENCY: LatencyConfig = {
  ttftMs: 180,
  perInputTokenMs: 0.15,
  itlMs: 28,
  jitter: 0.2,
  loadFactor: 0.002,
};

/** Fill unset fields with the defaults and clamp nonsense (negative values) to 0. */
export function resolveLatency(partial: Partial<LatencyConfig>): LatencyConfig {
  const pick = (v: number | undefined, d: number): number => (v === undefined || !Number.isFinite(v) ? d : Math.max(0, v));
  return {
    ttftMs: pick(partial.ttftMs, DEFAULT_LATENCY.ttftMs),
    perInputTokenMs: pick(partial.perInputTokenMs, DEFAULT_LATENCY.perInputTokenMs),
    itlMs: pick(partial.itlMs, DEFAULT_LATENCY.itlMs),
    jitter: Math.min(1, pick(partial.jitter, DEFAULT_LATENCY.jitter)),
    loadFactor: pick(partial.loadFactor, DEFAULT_LATENCY.loadFactor),
  };
}

function jittered(ms: number, jitter: number, rand: Rand): number {
  if (jitter === 0) return ms;
  return ms * (1 + (rand() * 2 - 1) * jitter);
}

/** Delay from request arrival to the first token. `slowFactor` > 1 models a slow prefill fault. */
export function firstTokenDelayMs(cfg: LatencyConfig, inputTokens: number, rand: Rand, slowFactor = 1): number {
  return jittered(cfg.ttftMs + cfg.perInputTokenMs * inputTokens, cfg.jitter, rand) * slowFactor;
}

/** Delay between two tokens of one request while `inFlight` requests share the GPU. */
export function interTokenDelayMs(cfg: LatencyConfig, inFlight: number, rand: Rand): number {
  const load = 1 + cfg.loadFactor * Math.max(0, inFlight - 1);
  return jittered(cfg.itlMs * load, cfg.jitter, rand);
}
