// Real-time guard of one audio stream: a token bucket counted in milliseconds of audio. Audio may
// arrive up to `factor` × real time for good, and run ahead of that by `burstMs` (a client
// catching up after a network stall, or sending a short file faster than real time).
//
// `level` is the audio admitted beyond factor × elapsed time; it drains at `factor` ms per ms. A
// chunk is refused when it would take the level over burstMs, except that an empty bucket always
// takes one chunk (so burstMs 0 still admits exactly-real-time audio, whatever the chunk size).

export interface RealtimeGuardOptions {
  /** Sustained rate allowed, × real time (≥ 1). */
  factor: number;
  /** Audio allowed ahead of the sustained rate, ms. */
  burstMs: number;
}

export class RealtimeGuard {
  private readonly factor: number;
  private readonly burstMs: number;
  private level = 0;
  private last: number | undefined;

  constructor(opts: RealtimeGuardOptions) {
    if (!(opts.factor >= 1) || !Number.isFinite(opts.factor)) throw new RangeError(`factor must be ≥ 1, got ${opts.factor}`);
    if (!(opts.burstMs >= 0) || !Number.isFinite(opts.burstMs)) throw new RangeError(`burstMs must be ≥ 0, got ${opts.burstMs}`);
    this.factor = opts.factor;
    this.burstMs = opts.burstMs;
  }

  /** Whether `ms` of audio arriving at wall time `nowMs` (a monotonic clock) may pass. */
  admit(ms: number, nowMs: number): boolean {
    if (this.last !== undefined) {
      const elapsed = Math.max(0, nowMs - this.last);
      this.level = Math.max(0, this.level - elapsed * this.factor);
    }
    this.last = this.last === undefined ? nowMs : Math.max(this.last, nowMs);
    if (this.level > 0 && this.level + ms > this.burstMs) return false;
    this.level += Math.max(0, ms);
    return true;
  }
}
