// Pings awaiting their pong: each ping carries a distinct, increasing ts; the pong echoing it
// settles the ping with the round-trip time, a timeout or the connection's close rejects it.
import { VlpClientError } from './errors.ts';
import type { SendResult } from './wire.ts';

interface PendingPing {
  start: number;
  resolve(rttMs: number): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class PendingPings {
  private readonly pings = new Map<number, PendingPing>();
  private lastTs = 0;

  /**
   * Send one ping with `send`; resolves with the round-trip time, ms. Rejects with closedError()
   * when the ping cannot be sent, with CLIENT_TIMEOUT when no pong comes within timeoutMs.
   */
  start(send: (ts: number) => SendResult, timeoutMs: number, closedError: () => Error): Promise<number> {
    let ts = performance.now();
    if (ts <= this.lastTs) ts = this.lastTs + 0.001;
    this.lastTs = ts;
    return new Promise<number>((resolve, reject) => {
      if (send(ts) === 'dropped') {
        reject(closedError());
        return;
      }
      const timer = setTimeout(() => {
        this.pings.delete(ts);
        reject(new VlpClientError('CLIENT_TIMEOUT', `no pong within ${timeoutMs} ms`, { retryable: true }));
      }, timeoutMs);
      this.pings.set(ts, { start: ts, resolve, reject, timer });
    });
  }

  /** A pong echoed `ts`. */
  settle(ts: number): void {
    const p = this.pings.get(ts);
    if (p === undefined) return;
    this.pings.delete(ts);
    clearTimeout(p.timer);
    p.resolve(performance.now() - p.start);
  }

  /** The connection closed: every pending ping fails with its own closedError(). */
  rejectAll(closedError: () => Error): void {
    for (const p of this.pings.values()) {
      clearTimeout(p.timer);
      p.reject(closedError());
    }
    this.pings.clear();
  }
}
