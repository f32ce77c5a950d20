// A bounded FIFO of bytes: append at the end, consume from the front, never more than `capacity`.

export class ByteQueue {
  private buf = new Uint8Array(0);
  private start = 0;
  private end = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.end - this.start;
  }

  /** The queued bytes (a view, valid until the next append/consume). */
  view(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** Appends a copy of `bytes`; false (and nothing appended) when it would exceed the capacity. */
  append(bytes: Uint8Array): boolean {
    const len = this.length;
    const need = len + bytes.length;
    if (need > this.capacity) return false;
    if (this.end + bytes.length > this.buf.length) {
      if (need <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const grown = new Uint8Array(Math.min(this.capacity, Math.max(need, 2 * this.buf.length, 4096)));
        grown.set(this.view());
        this.buf = grown;
      }
      this.start = 0;
      this.end = len;
    }
    this.buf.set(bytes, this.end);
    this.end += bytes.length;
    return true;
  }

  consume(n: number): void {
    this.start = Math.min(this.end, this.start + n);
    if (this.start === this.end) this.start = this.end = 0;
  }

  /** Drops everything and releases the storage. */
  clear(): void {
    this.buf = new Uint8Array(0);
    this.start = this.end = 0;
  }
}
