// Replica choice: the ready replica with the fewest in-flight requests, round-robin among ties;
// retries prefer replicas this request has not tried yet.
import type { Replica } from './replica.ts';

export interface RetryChoice {
  replica: Replica;
  /** Cooldown still owed to the replica's Retry-After before calling it, ms (0 = none). */
  waitMs: number;
}

export class Picker {
  readonly #replicas: readonly Replica[];
  /** Index where the next tie-break scan starts. */
  #cursor = 0;

  constructor(replicas: readonly Replica[]) {
    this.#replicas = replicas;
  }

  /** True when no replica's breaker is closed. */
  allDown(): boolean {
    return this.#replicas.every((r) => !r.breaker.up);
  }

  /** First attempt of a request. Never refuses: ready replicas first, then up ones still cooling
   *  down after a Retry-After, then (every breaker open) the one that opened longest ago. */
  first(now: number): Replica {
    return this.#least((r) => r.ready(now)) ?? this.#least((r) => r.breaker.up) ?? this.#oldestDown();
  }

  /** A retry: a ready replica this request has not tried, else a ready one it has (after a
   *  backoff), else the up replica whose Retry-After ends soonest if that is within maxWaitMs.
   *  Down replicas are never retried (their probe decides when they are back). */
  retry(tried: ReadonlySet<Replica>, now: number, maxWaitMs: number): RetryChoice | undefined {
    const ready = this.#least((r) => r.ready(now) && !tried.has(r)) ?? this.#least((r) => r.ready(now));
    if (ready !== undefined) return { replica: ready, waitMs: 0 };
    let soonest: Replica | undefined;
    for (const r of this.#replicas) {
      if (r.breaker.up && r.notBefore - now <= maxWaitMs && (soonest === undefined || r.notBefore < soonest.notBefore)) {
        soonest = r;
      }
    }
    return soonest === undefined ? undefined : { replica: soonest, waitMs: soonest.notBefore - now };
  }

  /** Fewest outstanding among those matching; ties go to the first one at or after the cursor. */
  #least(match: (r: Replica) => boolean): Replica | undefined {
    const n = this.#replicas.length;
    let best: Replica | undefined;
    for (let k = 0; k < n; k++) {
      const r = this.#replicas[(this.#cursor + k) % n] as Replica;
      if (match(r) && (best === undefined || r.outstanding < best.outstanding)) best = r;
    }
    if (best !== undefined) this.#cursor = (best.index + 1) % n;
    return best;
  }

  #oldestDown(): Replica {
    let oldest = this.#replicas[0] as Replica;
    for (const r of this.#replicas) if (r.breaker.openedAt < oldest.breaker.openedAt) oldest = r;
    return oldest;
  }
}
