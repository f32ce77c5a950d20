// Which upstream failures count against a replica's breaker and which the router may retry, plus
// the waits between attempts (jittered exponential backoff, abortable sleep).
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { abortError } from '../abort.ts';

/**
 * Failures that say something about the replica rather than the request, so they feed its breaker
 * (before or after the first token alike).
 *
 * Not counted, deliberately:
 * - UPSTREAM_REJECTED: the request is invalid; every replica would say the same.
 * - UPSTREAM_PROTOCOL: the server answered in a form we do not understand (version skew, a wrong
 *   URL pointing at another service, a proxy's HTML page). It is deterministic and the breaker
 *   cannot cure it: the liveness probe (GET /health) would pass and reopen the replica at once, so
 *   counting it would only make the replica flap. It is not retried either (the catalog marks it
 *   non-retryable and the same server build sits behind every replica); it goes to the client as
 *   is, where it is loud enough to be fixed in configuration.
 * - UPSTREAM_GENERATION_FAILED: TGI failed on this input (CUDA OOM on a long prompt, incomplete
 *   generation); the replica is alive and a retry would repeat the GPU work.
 * - AbortError and non-VlpErrors: cancellations and bugs are not replica health.
 */
const BREAKER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UPSTREAM_UNAVAILABLE', 'UPSTREAM_OVERLOADED', 'UPSTREAM_RESET', 'UPSTREAM_TIMEOUT',
]);

/** Codes retried on another replica (or the fallback), and only while nothing was yielded to the
 *  consumer: a retry after a token would show the user a second, different beginning. RESET and
 *  TIMEOUT are in the list because "before any token" is the only time the router retries at all. */
const RETRY_CODES: ReadonlySet<ErrorCode> = BREAKER_CODES;

/** The code to record as a replica failure, or undefined when the error is neutral. */
export function breakerFailureCode(err: unknown): ErrorCode | undefined {
  return err instanceof VlpError && BREAKER_CODES.has(err.code) ? err.code : undefined;
}

/** True when the router may try again after `err`. `yielded` = events already given to the
 *  consumer in this request. An adapter can veto with `retryable: false` on its VlpError. */
export function isRetryable(err: unknown, yielded: number): err is VlpError {
  return yielded === 0 && err instanceof VlpError && err.retryable && RETRY_CODES.has(err.code);
}

/** Jittered exponential backoff before retry number `retry` (1 = the first retry), ms:
 *  "equal jitter", uniform in [d/2, d] with d = baseMs * 2^(retry-1), d capped at capMs. Half the
 *  step is kept so a fleet-wide overload still spreads retries out; the random half de-synchronises
 *  the requests that failed together. */
export function backoffMs(retry: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
  return step / 2 + random() * (step / 2);
}

/** Resolves after `ms`; rejects with an AbortError as soon as `signal` aborts (timer cleared). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal.reason));
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal.reason));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs a health probe bounded by `timeoutMs`: false when it answers false, throws, rejects or
 *  outlasts the bound (its guard timer is cleared either way and never keeps the process up). */
export function probeWithin(probe: (timeoutMs: number) => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let guard: NodeJS.Timeout | undefined;
  return new Promise<boolean>((resolve) => {
    guard = setTimeout(() => resolve(false), timeoutMs);
    guard.unref();
    try {
      probe(timeoutMs).then((ok) => resolve(ok === true), () => resolve(false));
    } catch {
      resolve(false);
    }
  }).finally(() => clearTimeout(guard));
}
