// A bounded ring of PCM16 samples: the audio a session holds while the ASR stream catches up.
// When full, the OLDEST samples are overwritten and counted (reported to the client as asr.lag).
// The storage is allocated on the first write, so an idle session costs nothing.

export class PcmRing {
  private buf: Int16Array | undefined;
  /** Index of the oldest sample. */
  private head = 0;
  private len = 0;
  private dropped = 0;
  private droppedTotal = 0;

  /** @param capacity samples held at most */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
  }

  /** Samples held. */
  get length(): number {
    return this.len;
  }

  /** Samples dropped since the ring was made. */
  get totalDropped(): number {
    return this.droppedTotal;
  }

  /** Appends samples, dropping the oldest ones beyond the capacity. */
  write(samples: Int16Array): void {
    const n = samples.length;
    if (n === 0) return;
    const cap = this.capacity;
    const buf = (this.buf ??= new Int16Array(cap));
    if (n >= cap) {
      this.count(this.len + n - cap);
      buf.set(samples.subarray(n - cap));
      this.head = 0;
      this.len = cap;
      return;
    }
    const overflow = this.len + n - cap;
    if (overflow > 0) {
      this.head = (this.head + overflow) % cap;
      this.len -= overflow;
      this.count(overflow);
    }
    const tail = (this.head + this.len) % cap;
    const first = Math.min(n, cap - tail);
    buf.set(samples.subarray(0, first), tail);
    if (first < n) buf.set(samples.subarray(first), 0);
    this.len += n;
  }

  /** Removes and returns up to `max` samples, oldest first (a copy). */
  read(max: number): Int16Array {
    const n = Math.max(0, Math.min(Math.floor(max), this.len));
    const out = new Int16Array(n);
    const buf = this.buf;
    if (n === 0 || !buf) return out;
    const cap = this.capacity;
    const first = Math.min(n, cap - this.head);
    out.set(buf.subarray(this.head, this.head + first));
    if (first < n) out.set(buf.subarray(0, n - first), first);
    this.head = (this.head + n) % cap;
    this.len -= n;
    return out;
  }

  /** Samples dropped since the previous call (then resets that count). */
  takeDropped(): number {
    const d = this.dropped;
    this.dropped = 0;
    return d;
  }

  private count(n: number): void {
    if (n <= 0) return;
    this.dropped += n;
    this.droppedTotal += n;
  }
}
