// The session duration limit's sweep step (expiry.ts) on fake sessions and a hand-driven clock:
// notice timing and its clamp, one goaway per connection, nothing for a detached session until its
// end, then removal; a running turn is cancelled before the fatal error.
import { describe, expect, it } from 'vitest';
import type { CancelReason, GoawayMsg } from '../../protocol/messages.ts';
import type { SessionState } from './session.ts';
import { SessionExpiry, type ExpiringSession } from './expiry.ts';

class FakeSession implements ExpiringSession {
  state: SessionState = 'active';
  turnDone: Promise<void> | undefined;
  readonly log: string[] = [];
  private running = false;

  /** Started at 0, so its duration is its deadline. */
  readonly durationMs: number;

  constructor(readonly expiresAt: number) {
    this.durationMs = expiresAt;
  }

  startTurn(): void {
    this.running = true;
    this.turnDone = new Promise((r) => setTimeout(r, 5));
  }

  beginEnding(): void {
    this.log.push('ending');
  }

  cancelTurn(_id: string | undefined, reason: CancelReason): boolean {
    if (!this.running) return false;
    this.running = false;
    this.log.push(`cancel ${reason}`);
    return true;
  }

  sendGoaway(timeLeftMs: number, reason: GoawayMsg['reason'] = 'shutdown'): void {
    this.log.push(`goaway ${reason} ${timeLeftMs}`);
  }

  close(reason: CancelReason): void {
    this.state = 'closed';
    this.log.push(`close ${reason}`);
  }
}

function rig(noticeMs: number): { expiry: SessionExpiry<FakeSession>; conns: Map<FakeSession, { id: number; fail(code: string, m: string): void }>; failed: string[] } {
  const conns = new Map<FakeSession, { id: number; fail(code: string, m: string): void }>();
  const failed: string[] = [];
  const expiry = new SessionExpiry<FakeSession>(noticeMs, 1000, {
    connectionOf: (s) => conns.get(s),
    onFault: (_s, err) => failed.push(`fault ${String(err)}`),
  });
  return { expiry, conns, failed };
}

const conn = (id: number, failed: string[]): { id: number; fail(code: string, m: string): void } => ({ id, fail: (code, m) => failed.push(`${id} ${code} ${m}`) });

describe('session expiry', () => {
  it('leaves a session without a duration limit alone', async () => {
    const { expiry, conns, failed } = rig(60_000);
    const s = new FakeSession(Number.POSITIVE_INFINITY);
    conns.set(s, conn(1, failed));
    expiry.check(s, 1e12);
    await new Promise((r) => setImmediate(r));
    expect(s.log).toEqual([]);
    expect(failed).toEqual([]);
  });

  it('sends one goaway per connection once inside the notice (plus one sweep), then ends the session at its deadline', async () => {
    const { expiry, conns, failed } = rig(60_000);
    const s = new FakeSession(600_000);
    conns.set(s, conn(1, failed));
    expiry.check(s, 538_999);
    expect(s.log).toEqual([]);
    expiry.check(s, 539_000); // a sweep always falls in the window: notice + sweep period
    expiry.check(s, 550_000);
    expect(s.log).toEqual(['goaway max_session 61000']);
    conns.set(s, conn(2, failed)); // resumed on another connection: it gets its own
    expiry.check(s, 570_500);
    expect(s.log).toEqual(['goaway max_session 61000', 'goaway max_session 29500']);
    expiry.check(s, 599_999);
    expect(failed).toEqual([]);
    expiry.check(s, 600_000);
    await new Promise((r) => setImmediate(r));
    expect(failed).toEqual(['2 SESSION_EXPIRED the session reached its maximum duration (10 min); start a new session']);
    expect(s.log.slice(-2)).toEqual(['ending', 'close max_session']);
    expiry.check(s, 601_000); // closed: nothing more
    expect(failed).toHaveLength(1);
  });

  it('clamps the notice to half the limit, names a limit under a minute in seconds, and 0 means no goaway', async () => {
    const { expiry, conns, failed } = rig(60_000);
    const s = new FakeSession(3000);
    conns.set(s, conn(1, failed));
    expiry.check(s, 499);
    expect(s.log).toEqual([]);
    expiry.check(s, 500);
    expect(s.log).toEqual(['goaway max_session 2500']);
    expiry.check(s, 3000);
    await new Promise((r) => setImmediate(r));
    expect(failed[0]).toMatch(/maximum duration \(3 s\)/);

    const silent = rig(0);
    const q = new FakeSession(3000);
    silent.conns.set(q, conn(1, silent.failed));
    for (let t = 0; t < 3000; t += 100) silent.expiry.check(q, t);
    expect(q.log).toEqual([]);
  });

  it('sends no goaway to a detached session and removes it at its deadline', async () => {
    const { expiry, failed } = rig(2000);
    const s = new FakeSession(10_000);
    s.state = 'detached';
    expiry.check(s, 9000);
    expect(s.log).toEqual([]);
    expiry.check(s, 10_000);
    await new Promise((r) => setImmediate(r));
    expect(s.log).toEqual(['ending', 'close max_session']);
    expect(failed).toEqual([]);
  });

  it('stops new turns, cancels the running one and lets it finish writing before the fatal error, once', async () => {
    const { expiry, conns, failed } = rig(2000);
    const s = new FakeSession(10_000);
    conns.set(s, conn(7, failed));
    s.startTurn();
    expiry.check(s, 10_000);
    expiry.check(s, 10_500); // a second sweep while the turn winds down: no second expiry
    expect(s.log).toEqual(['ending', 'cancel max_session']);
    expect(failed).toEqual([]);
    await expect.poll(() => failed.length, { timeout: 1000, interval: 2 }).toBe(1);
    expect(s.log).toEqual(['ending', 'cancel max_session', 'close max_session']);
  });

  it('closes the session even when ending it throws (and reports the fault)', async () => {
    const { expiry, conns, failed } = rig(2000);
    const s = new FakeSession(10_000);
    conns.set(s, { id: 9, fail: () => { throw new Error('socket gone'); } });
    expiry.check(s, 10_000);
    await new Promise((r) => setImmediate(r));
    expect(failed).toEqual(['fault Error: socket gone']);
    expect(s.state).toBe('closed');
  });
});
