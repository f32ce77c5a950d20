// One backend of a routed pool: its in-flight count, its circuit breaker, and the cooldown a
// Retry-After asked for. The router owns the bookkeeping; the picker only reads it.
import { VlpError } from '../../../protocol/errors.ts';
import type { TextGenBackend } from '../ports.ts';
import { Breaker } from './breaker.ts';
import type { BreakerOptions } from './breaker.ts';
import { breakerFailureCode } from './retry-policy.ts';

export class Replica {
  readonly backend: TextGenBackend;
  readonly breaker: Breaker;
  /** Position in the pool, for round-robin. */
  readonly index: number;
  /** Requests streaming from this replica right now. */
  outstanding = 0;
  /** now() before which the replica asked not to be called (its last Retry-After); 0 = none. */
  notBefore = 0;

  constructor(backend: TextGenBackend, index: number, breaker: Omit<BreakerOptions, 'probe'>) {
    this.backend = backend;
    this.index = index;
    this.breaker = new Breaker({ ...breaker, probe: (timeoutMs) => backend.probe(timeoutMs) });
  }

  get id(): string {
    return this.backend.id;
  }

  /** Up and not cooling down after a Retry-After. */
  ready(now: number): boolean {
    return this.breaker.up && this.notBefore <= now;
  }

  /** Records a failed attempt: feeds the breaker when the code counts, and keeps a Retry-After. */
  failed(err: unknown, now: number): void {
    const code = breakerFailureCode(err);
    if (code !== undefined) this.breaker.failure(code);
    if (err instanceof VlpError && err.retryAfterS !== undefined && err.retryAfterS > 0) {
      this.notBefore = Math.max(this.notBefore, now + err.retryAfterS * 1000);
    }
  }
}
