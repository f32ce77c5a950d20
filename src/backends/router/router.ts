// createRoutedBackend: one TextGenBackend over several replicas of a model and an optional
// fallback, with least-outstanding choice, per-replica circuit breakers and pre-token retries.
import type { VlpError } from '../../../protocol/errors.ts';
import { abortError, isAbortError } from '../abort.ts';
import type { GenEvent, TextGenBackend, TextGenRequest } from '../ports.ts';
import { Picker } from './picker.ts';
import { Replica } from './replica.ts';
import { backoffMs, isRetryable, sleep } from './retry-policy.ts';

export interface RouterLogEvent {
  kind: 'replica_down' | 'replica_up' | 'retry' | 'fallback';
  /** replica_down/up: the replica; retry: the backend that failed; fallback: the fallback. */
  backend: string;
  /** replica_down: the code that opened the breaker; retry/fallback: the failure being retried. */
  code?: string;
}

export interface RoutedBackendOptions {
  id: string;
  /** Replicas of one model (same capabilities). */
  replicas: TextGenBackend[];
  /** Tried once after the replicas are exhausted, or straight away when every replica is down. */
  fallback?: TextGenBackend;
  /** Replica attempts per request, the first included. Default 3. */
  maxAttempts?: number;
  /** Longest wait for a Retry-After before retrying the replica that sent it, ms; a longer one is
   *  not waited for. Also caps the backoff. Default 2000. */
  maxRetryAfterMs?: number;
  /** First backoff step, ms, doubled per retry and jittered (see retry-policy.ts). Default 50. */
  baseBackoffMs?: number;
  breaker?: {
    /** Consecutive failures that mark a replica down. Default 3 (UPSTREAM_UNAVAILABLE: always 1). */
    failureThreshold?: number;
    /** Probe period of a down replica, ms. Default 2000. */
    probeIntervalMs?: number;
    /** Probe timeout, ms. Default 1000. */
    probeTimeoutMs?: number;
  };
  /** Clock for breaker and Retry-After bookkeeping, ms. Default Date.now. */
  now?: () => number;
  log?: (event: RouterLogEvent) => void;
}

export interface RouterStats {
  replicas: { id: string; up: boolean; outstanding: number }[];
}

export interface RoutedBackend extends TextGenBackend {
  stats(): RouterStats;
}

export const ROUTER_DEFAULTS = {
  maxAttempts: 3,
  maxRetryAfterMs: 2000,
  baseBackoffMs: 50,
  failureThreshold: 3,
  probeIntervalMs: 2000,
  probeTimeoutMs: 1000,
} as const;

interface RouterContext {
  readonly picker: Picker;
  readonly fallback: TextGenBackend | undefined;
  readonly maxAttempts: number;
  readonly maxRetryAfterMs: number;
  readonly baseBackoffMs: number;
  readonly now: () => number;
  readonly log: (event: RouterLogEvent) => void;
}

export function createRoutedBackend(opts: RoutedBackendOptions): RoutedBackend {
  const first = opts.replicas[0];
  if (first === undefined) throw new Error(`router ${opts.id}: needs at least one replica`);
  for (const b of opts.replicas) {
    const c = b.capabilities;
    if (c.vision !== first.capabilities.vision || c.streaming !== first.capabilities.streaming) {
      throw new Error(`router ${opts.id}: capabilities of ${b.id} differ from those of ${first.id}`);
    }
  }
  const maxAttempts = opts.maxAttempts ?? ROUTER_DEFAULTS.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`router ${opts.id}: maxAttempts must be an integer >= 1`);
  const failureThreshold = opts.breaker?.failureThreshold ?? ROUTER_DEFAULTS.failureThreshold;
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) throw new Error(`router ${opts.id}: failureThreshold must be an integer >= 1`);
  const probeIntervalMs = opts.breaker?.probeIntervalMs ?? ROUTER_DEFAULTS.probeIntervalMs;
  const probeTimeoutMs = opts.breaker?.probeTimeoutMs ?? ROUTER_DEFAULTS.probeTimeoutMs;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? ROUTER_DEFAULTS.maxRetryAfterMs;
  const baseBackoffMs = opts.baseBackoffMs ?? ROUTER_DEFAULTS.baseBackoffMs;
  for (const [name, ms, min] of [
    ['probeIntervalMs', probeIntervalMs, 1], ['probeTimeoutMs', probeTimeoutMs, 1],
    ['maxRetryAfterMs', maxRetryAfterMs, 0], ['baseBackoffMs', baseBackoffMs, 0],
  ] as const) {
    if (!Number.isFinite(ms) || ms < min) throw new Error(`router ${opts.id}: ${name} must be a number >= ${min}`);
  }
  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((): void => undefined);

  const replicas = opts.replicas.map((backend, i) => new Replica(backend, i, {
    failureThreshold,
    probeIntervalMs,
    probeTimeoutMs,
    now,
    onChange: (up, code) => log(up || code === undefined
      ? { kind: up ? 'replica_up' : 'replica_down', backend: backend.id }
      : { kind: 'replica_down', backend: backend.id, code }),
  }));
  const ctx: RouterContext = {
    picker: new Picker(replicas),
    fallback: opts.fallback,
    maxAttempts,
    maxRetryAfterMs,
    baseBackoffMs,
    now,
    log,
  };
  let closing: Promise<void> | undefined;

  return {
    id: opts.id,
    capabilities: { ...first.capabilities },
    generate: (req) => route(ctx, req),
    probe: (timeoutMs) => probeAny(replicas, timeoutMs),
    close: () => (closing ??= closeAll(replicas, opts.fallback)),
    stats: () => ({ replicas: replicas.map((r) => ({ id: r.id, up: r.breaker.up, outstanding: r.outstanding })) }),
  };
}

/**
 * One request. Each attempt delegates with `for await`, so when the consumer breaks out (our
 * return()) the loop calls return() on the replica's iterator, which closes the upstream request;
 * req.signal reaches the replica unchanged. Retries and the fallback happen only while nothing
 * has been yielded: after a token an error is rethrown as is.
 */
async function* route(ctx: RouterContext, req: TextGenRequest): AsyncGenerator<GenEvent, void, undefined> {
  const { signal } = req;
  if (signal.aborted) throw abortError(signal.reason);
  const fallback = ctx.fallback !== undefined && fallbackCanServe(ctx.fallback, req) ? ctx.fallback : undefined;
  const tried = new Set<Replica>();
  let lastErr: VlpError | undefined;
  let lastFailed = '';
  let attempts = 0;
  // Every breaker open: the fallback if there is one, else the replica that opened longest ago.
  let next: Replica | undefined = fallback !== undefined && ctx.picker.allDown() ? undefined : ctx.picker.first(ctx.now());

  // Every path that stays in the loop assigns `next` at the bottom; the others return or throw.
  while (next !== undefined) {
    const replica = next;
    attempts++;
    tried.add(replica);
    const startedAt = ctx.now();
    let yielded = 0;
    let outcome: 'served' | 'failed' | undefined; // undefined at the end = the consumer left
    replica.outstanding++;
    try {
      for await (const ev of replica.backend.generate(req)) {
        yielded++;
        yield ev;
      }
      outcome = 'served';
      replica.breaker.success(startedAt);
      return;
    } catch (err) {
      if (signal.aborted) throw isAbortError(err) ? err : abortError(signal.reason);
      outcome = 'failed';
      replica.failed(err, ctx.now());
      if (!isRetryable(err, yielded)) throw err;
      lastErr = err;
      lastFailed = replica.id;
    } finally {
      replica.outstanding--; // exactly once per attempt, however it ended
      // Left by a break or an abort after tokens flowed: the replica was serving fine.
      if (outcome === undefined && yielded > 0) replica.breaker.success(startedAt);
    }

    if (attempts >= ctx.maxAttempts) break;
    const choice = ctx.picker.retry(tried, ctx.now(), ctx.maxRetryAfterMs);
    if (choice === undefined) break; // no replica up, or only ones whose Retry-After is too long
    await sleep(Math.max(choice.waitMs, backoffMs(attempts, ctx.baseBackoffMs, ctx.maxRetryAfterMs)), signal);
    ctx.log({ kind: 'retry', backend: replica.id, code: lastErr.code });
    req.onRetry?.({ code: lastErr.code, attempt: attempts + 1, backend: replica.id });
    next = choice.replica;
  }

  if (fallback !== undefined) {
    if (lastErr === undefined) {
      ctx.log({ kind: 'fallback', backend: fallback.id });
    } else {
      ctx.log({ kind: 'fallback', backend: fallback.id, code: lastErr.code });
      req.onRetry?.({ code: lastErr.code, attempt: attempts + 1, backend: lastFailed });
    }
    // Its own errors (and an abort) propagate as they are.
    for await (const ev of fallback.generate(req)) yield ev;
    return;
  }
  if (lastErr === undefined) throw new Error('router: no attempt was made'); // unreachable: first() always returns
  throw lastErr;
}

/** A fallback without vision cannot take a request carrying images. */
function fallbackCanServe(fallback: TextGenBackend, req: TextGenRequest): boolean {
  return fallback.capabilities.vision || !req.messages.some((m) => m.images !== undefined && m.images.length > 0);
}

/** True as soon as one replica answers its probe; a healthy answer also closes that replica's
 *  breaker without waiting for its own probe timer. */
function probeAny(replicas: readonly Replica[], timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let pending = replicas.length;
    const settle = (): void => {
      if (--pending === 0) resolve(false);
    };
    for (const r of replicas) {
      let probing: Promise<boolean>;
      try {
        probing = r.backend.probe(timeoutMs);
      } catch {
        settle();
        continue;
      }
      probing.then((ok) => {
        if (ok) {
          r.breaker.probeSucceeded();
          resolve(true);
        }
        settle();
      }, settle);
    }
  });
}

/** Stops every probe timer, then closes all replicas and the fallback; rethrows the first failure. */
async function closeAll(replicas: readonly Replica[], fallback: TextGenBackend | undefined): Promise<void> {
  for (const r of replicas) r.breaker.dispose();
  const backends = fallback === undefined ? replicas.map((r) => r.backend) : [...replicas.map((r) => r.backend), fallback];
  const results = await Promise.allSettled(backends.map((b) => b.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
