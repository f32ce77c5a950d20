// createRoutedBackend: one TextGenBackend over several replicas of a model and an optional
// fallback, with least-outstanding choice, per-replica circuit breakers and pre-token retries.
import type { TextGenBackend } from '../ports.ts';
import { Picker } from './picker.ts';
import { Replica } from './replica.ts';
import { RoutedStream, type RouterContext } from './routed-stream.ts';

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
    generate: (req) => new RoutedStream(ctx, req),
    probe: (timeoutMs) => probeAny(replicas, timeoutMs),
    close: () => (closing ??= closeAll(replicas, opts.fallback)),
    stats: () => ({ replicas: replicas.map((r) => ({ id: r.id, up: r.breaker.up, outstanding: r.outstanding })) }),
  };
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
