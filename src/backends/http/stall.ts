// First-token and inter-token deadlines for one upstream stream, with one lazily re-armed timer:
// the per-token path only stores a timestamp; the timer re-checks when it fires.
import { performance } from 'node:perf_hooks';

/** Timer slack, ms: a timer may fire a hair before performance.now() says the deadline passed. */
const SLACK_MS = 1;

/**
 * Measures only time spent waiting on upstream. While the consumer holds a yielded event (it may
 * be blocked on a slow client socket), the clock is parked: a slow consumer is not an upstream
 * stall. SSE keep-alive comments do not count as progress either: they prove the server is alive
 * but not that this generation advances, so a stuck generation behind keep-alives still times out.
 */
export class StallWatch {
  /** Which deadline fired, once one has; the caller then reports UPSTREAM_TIMEOUT. */
  fired: 'first-token' | 'inter-token' | undefined;
  private last = performance.now();
  private sawToken = false;
  private parked = false;
  private stopped = false;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly firstMs: number,
    private readonly interMs: number,
    private readonly onFire: () => void,
  ) {
    this.timer = this.arm(firstMs);
  }

  /** Limit in force now, ms. */
  get limitMs(): number {
    return this.sawToken ? this.interMs : this.firstMs;
  }

  /** The consumer now holds events: stop the clock. */
  park(): void {
    this.parked = true;
  }

  /** Back to waiting on upstream after events were consumed; `token` = they included a token. */
  resume(token: boolean): void {
    this.parked = false;
    this.last = performance.now();
    if (token && !this.sawToken) {
      this.sawToken = true;
      // Switch deadlines now rather than when the first-token timer happens to fire.
      clearTimeout(this.timer);
      this.timer = this.arm(this.interMs);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(ms: number): NodeJS.Timeout {
    const t = setTimeout(this.check, ms);
    t.unref();
    return t;
  }

  private readonly check = (): void => {
    if (this.stopped) return;
    const limit = this.limitMs;
    if (this.parked) {
      this.timer = this.arm(limit);
      return;
    }
    const idle = performance.now() - this.last;
    if (idle + SLACK_MS >= limit) {
      this.fired = this.sawToken ? 'inter-token' : 'first-token';
      this.stopped = true;
      this.onFire();
      return;
    }
    this.timer = this.arm(limit - idle);
  };
}
