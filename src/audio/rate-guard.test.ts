import { describe, expect, it } from 'vitest';
import { RealtimeGuard } from './rate-guard.ts';

/** Sends `seconds` of 20 ms chunks at `speed` × real time; returns how many were admitted. */
function send(g: RealtimeGuard, speed: number, seconds: number, t0 = 0): { admitted: number; sent: number; end: number } {
  let admitted = 0;
  const n = (seconds * 1000) / 20;
  let t = t0;
  for (let i = 0; i < n; i++) {
    if (g.admit(20, t)) admitted++;
    t += 20 / speed;
  }
  return { admitted, sent: n, end: t };
}

describe('RealtimeGuard', () => {
  it('admits real-time audio indefinitely, even without a burst allowance', () => {
    for (const burstMs of [0, 3000]) {
      const r = send(new RealtimeGuard({ factor: 2, burstMs }), 1, 600);
      expect(r.admitted).toBe(r.sent);
    }
  });

  it('admits up to factor × real time', () => {
    const r = send(new RealtimeGuard({ factor: 2, burstMs: 0 }), 2, 60);
    expect(r.admitted).toBe(r.sent);
  });

  it('refuses 5× real time once the burst is used, then holds it to factor × real time', () => {
    const g = new RealtimeGuard({ factor: 2, burstMs: 3000 });
    // At 5×, 20 ms of audio arrives every 4 ms: the level grows 12 ms per chunk, so the 3 s burst
    // lasts ≈ 250 chunks (5 s of audio in 1 s).
    const first = send(g, 5, 4);
    expect(first.admitted).toBe(first.sent);
    const next = send(g, 5, 10, first.end);
    expect(next.admitted).toBeLessThan(next.sent / 2);
    // Over the whole 2.8 s of wall time: 2 × 2.8 s + the 3 s burst = 8.6 s of audio, ± a chunk.
    const admittedMs = (first.admitted + next.admitted) * 20;
    expect(admittedMs).toBeGreaterThanOrEqual(8600 - 40);
    expect(admittedMs).toBeLessThanOrEqual(8600 + 20);
  });

  it('lets the burst refill after a pause', () => {
    const g = new RealtimeGuard({ factor: 2, burstMs: 1000 });
    const a = send(g, 10, 5);
    expect(a.admitted).toBeLessThan(a.sent);
    const b = send(g, 10, 1, a.end + 10_000); // 10 s later
    expect(b.admitted).toBe(b.sent);
  });

  it('does not credit a clock that goes backwards', () => {
    const g = new RealtimeGuard({ factor: 1, burstMs: 100 });
    expect(g.admit(100, 1000)).toBe(true);
    expect(g.admit(20, 500)).toBe(false);
  });

  it('validates its options', () => {
    expect(() => new RealtimeGuard({ factor: 0.5, burstMs: 0 })).toThrow(RangeError);
    expect(() => new RealtimeGuard({ factor: 2, burstMs: -1 })).toThrow(RangeError);
  });
});
