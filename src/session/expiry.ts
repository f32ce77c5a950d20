// The session duration limit (limits.maxSessionMs, or a client token's shorter max_session_s
// claim: Session.durationMs): a session lives at most that long from its hello, resumes included. About sessionNoticeMs before the end (up to one sweep period earlier)
// its connection gets goaway {reason: "max_session", time_left_ms} (a connection that attaches
// later, by resume, gets its own right after its ready);
// at the end the running turn is cancelled (turn.cancelled {reason: "max_session"}), the connection
// gets error SESSION_EXPIRED and close 4003, and the session is closed, so it cannot be resumed.
// The gateway's once-a-second sweep drives it, so both moments are accurate to about a second.
import type { Session } from './session.ts';

/** What the limit needs of a session. */
export type ExpiringSession = Pick<Session, 'state' | 'expiresAt' | 'durationMs' | 'turnDone' | 'cancelTurn' | 'sendGoaway' | 'close' | 'beginEnding'>;

/** A running turn gets this long to write its turn.cancelled before the connection is closed. */
const CANCEL_FLUSH_MS = 200;

export interface ExpiryHost<S extends ExpiringSession> {
  /** The session's connection, if one is attached. */
  connectionOf(s: S): { fail(code: 'SESSION_EXPIRED', message: string): void } | undefined;
  /** A fault in ending a session (a bug): logged; the session is closed anyway. */
  onFault(s: S, err: unknown): void;
}

export class SessionExpiry<S extends ExpiringSession> {
  /** The connection that got each session's goaway: every new connection gets one of its own. */
  private readonly noticed = new WeakMap<S, object>();
  private readonly ending = new WeakSet<S>();

  constructor(
    /** limits.sessionNoticeMs (0 = no goaway). */
    private readonly noticeMs: number,
    /** The sweep period: the goaway window is one period wider than the notice, so a sweep
     *  always falls inside it. */
    private readonly sweepMs: number,
    private readonly host: ExpiryHost<S>,
  ) {}


  /** One sweep step for `s` at `now` (its deadline, s.expiresAt, and duration, s.durationMs); also
   *  run when a connection attaches (after its ready), so a resumed connection inside the notice
   *  window gets its goaway at once. */
  check(s: S, now: number): void {
    if (s.state === 'closed' || !Number.isFinite(s.expiresAt) || this.ending.has(s)) return;
    const left = s.expiresAt - now;
    if (left <= 0) {
      void this.expire(s);
      return;
    }
    // The notice is at most half the session's duration.
    const noticeMs = Math.min(this.noticeMs, Math.floor(s.durationMs / 2));
    if (noticeMs === 0 || left > noticeMs + this.sweepMs || s.state !== 'active') return;
    const conn = this.host.connectionOf(s);
    if (conn === undefined || this.noticed.get(s) === conn) return;
    this.noticed.set(s, conn);
    s.sendGoaway(Math.round(left), 'max_session');
  }

  private async expire(s: S): Promise<void> {
    this.ending.add(s);
    try {
      s.beginEnding();
      if (s.cancelTurn(undefined, 'max_session') && s.turnDone) {
        await Promise.race([s.turnDone, new Promise((r) => setTimeout(r, CANCEL_FLUSH_MS))]);
      }
      if (s.state === 'closed') return;
      const minutes = s.durationMs / 60_000;
      const limit = minutes >= 1 && Number.isInteger(minutes) ? `${minutes} min` : `${Math.round(s.durationMs / 1000)} s`;
      this.host.connectionOf(s)?.fail('SESSION_EXPIRED', `the session reached its maximum duration (${limit}); start a new session`);
    } catch (err) {
      this.host.onFault(s, err);
    } finally {
      s.close('max_session');
    }
  }
}
