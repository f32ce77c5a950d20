// Latency mode (config busyPollMs): while traffic flows, the event loop polls its sockets without
// sleeping, so a token or audio frame arriving from the fleet or a client is read at once instead
// of after the CPU wakes from idle. On a VM an idle vCPU halts, and waking it costs tens to
// hundreds of microseconds (the guest's haltpoll governor, when it polls at all, does this at the
// kernel level). The price is the CPU: the process spins its core until `windowMs` after the last
// activity, then sleeps again. Off (0) by default.
//
// The spin is a chain of setImmediate callbacks: with an immediate pending, libuv polls with a zero
// timeout (epoll_wait(…, 0)) and runs every ready callback, then the chain continues. touch() is
// one store and one branch, cheap enough for the token path.

export class BusyPoll {
  private active = false;
  private spinning = false;
  private until = 0;

  constructor(private readonly windowMs: number) {}

  /** Activity: keep polling for windowMs from now. */
  touch(): void {
    if (this.windowMs <= 0) return;
    this.active = true;
    if (!this.spinning) {
      this.spinning = true;
      setImmediate(this.spin);
    }
  }

  /** Spinning now (tests, metrics). */
  get isSpinning(): boolean {
    return this.spinning;
  }

  private readonly spin = (): void => {
    const now = performance.now();
    if (this.active) {
      this.active = false;
      this.until = now + this.windowMs;
    }
    if (now < this.until) setImmediate(this.spin);
    else this.spinning = false;
  };
}
