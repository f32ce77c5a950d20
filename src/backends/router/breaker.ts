// Per-replica circuit breaker: consecutive failures open it (mark the replica down); while open,
// one unref'd timer probes the replica every probeIntervalMs until it answers, then closes it.
import type { ErrorCode } from '../../../protocol/errors.ts';

export interface BreakerOptions {
  /** Consecutive counted failures that open the breaker. */
  failureThreshold: number;
  /** Time between probes of a down replica, ms (measured from the end of the previous probe). */
  probeIntervalMs: number;
  /** Longest a probe may take, ms; a slower one counts as failed. */
  probeTimeoutMs: number;
  probe: (timeoutMs: number) => Promise<boolean>;
  now: () => number;
  /** Called on every transition: down (with the code that opened it) or up. */
  onChange: (up: boolean, code?: ErrorCode) => void;
}

/** Connection refused / unreachable needs no second opinion: it opens on the first occurrence. */
const UNAVAILABLE_THRESHOLD = 1;

export class Breaker {
  readonly #opts: BreakerOptions;
  #up = true;
  #failures = 0;
  /** now() when the breaker last opened, or when a trial request on the down replica last failed. */
  #openedAt = 0;
  /** Bumped on every opening, so a probe that outlives its episode is ignored. */
  #episode = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Hung-probe guard of the probe in flight. */
  #guard: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: BreakerOptions) {
    this.#opts = opts;
  }

  get up(): boolean {
    return this.#up;
  }

  get openedAt(): number {
    return this.#openedAt;
  }

  /** True while a probe timer is armed (tests check close() disarms it). */
  get probing(): boolean {
    return this.#timer !== undefined || this.#guard !== undefined;
  }

  /** The replica served a request that started at `startedAt` (a now() value). A request that
   *  started before the breaker (re)opened says nothing about the replica now, so it is ignored. */
  success(startedAt: number): void {
    if (!this.#up && startedAt < this.#openedAt) return;
    this.#failures = 0;
    if (!this.#up) this.#close();
  }

  /** A counted failure (see retry-policy.ts for which codes count). */
  failure(code: ErrorCode): void {
    this.#failures++;
    if (!this.#up) {
      // A trial on a down replica failed: re-arm, so "every replica down" requests rotate over
      // the replicas instead of always hitting the same one.
      this.#openedAt = this.#opts.now();
      return;
    }
    const threshold = code === 'UPSTREAM_UNAVAILABLE' ? UNAVAILABLE_THRESHOLD : this.#opts.failureThreshold;
    if (this.#failures >= threshold) this.#open(code);
  }

  /** An outside probe (e.g. /readyz) found the replica healthy. */
  probeSucceeded(): void {
    if (!this.#up && !this.#closed) this.#close();
  }

  /** Stops the probe timer for good (the router is closing). */
  dispose(): void {
    this.#closed = true;
    this.#clearTimers();
  }

  #open(code: ErrorCode): void {
    this.#up = false;
    this.#openedAt = this.#opts.now();
    this.#episode++;
    this.#clearTimers();
    this.#schedule();
    this.#opts.onChange(false, code);
  }

  #close(): void {
    this.#up = true;
    this.#failures = 0;
    this.#clearTimers();
    this.#opts.onChange(true);
  }

  #clearTimers(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#guard);
    this.#timer = undefined;
    this.#guard = undefined;
  }

  #schedule(): void {
    if (this.#closed || this.#up) return;
    const episode = this.#episode;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#probeOnce(episode);
    }, this.#opts.probeIntervalMs);
    this.#timer.unref();
  }

  async #probeOnce(episode: number): Promise<void> {
    const ok = await this.#probeWithin();
    // Closed, brought up by a request, or reopened (which armed its own timer) meanwhile.
    if (this.#closed || this.#up || episode !== this.#episode) return;
    if (ok) this.#close();
    else this.#schedule();
  }

  /** The replica's probe, counted as failed when it throws, rejects or outlasts probeTimeoutMs. */
  #probeWithin(): Promise<boolean> {
    const { probe, probeTimeoutMs } = this.#opts;
    let guard: NodeJS.Timeout | undefined;
    return new Promise<boolean>((resolve) => {
      guard = setTimeout(() => resolve(false), probeTimeoutMs);
      guard.unref();
      this.#guard = guard;
      try {
        probe(probeTimeoutMs).then((ok) => resolve(ok === true), () => resolve(false));
      } catch {
        resolve(false);
      }
    }).finally(() => {
      clearTimeout(guard);
      if (this.#guard === guard) this.#guard = undefined;
    });
  }
}
