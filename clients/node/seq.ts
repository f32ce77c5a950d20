// Server seq bookkeeping: the highest in-order seq seen (what ack and hello.resume carry), gap
// detection, and duplicate suppression for frames replayed after a resume.

export type SeqVerdict = 'deliver' | 'duplicate';

export class SeqTracker {
  /** Next seq expected in order. */
  private expected: number;
  /** Seqs seen ahead of `expected` without a gap (only a resume's ready can be out of order). */
  private readonly ahead = new Set<number>();
  /** Times a frame skipped over seqs that never arrived. */
  gaps = 0;

  /** `lastSeq`: the highest seq already processed (0 for a new session). */
  constructor(lastSeq = 0) {
    this.expected = lastSeq + 1;
  }

  /** Highest seq processed with everything before it accounted for (or skipped as a gap). */
  get lastSeq(): number {
    return this.expected - 1;
  }

  /** Restart numbering (the server started a new session instead of resuming). */
  reset(lastSeq: number): void {
    this.expected = lastSeq + 1;
    this.ahead.clear();
  }

  /** The seq of a `ready`: on resume the gateway may stamp it after the frames it replays, so it
   *  is parked rather than counted as a gap, and never suppresses what comes after it. */
  noteReady(seq: number): void {
    if (seq === this.expected) this.advance();
    else if (seq > this.expected) this.ahead.add(seq);
  }

  /** Account for a sequenced frame other than ready. */
  observe(seq: number): SeqVerdict {
    if (seq < this.expected || this.ahead.has(seq)) return 'duplicate';
    if (seq > this.expected) {
      this.gaps += 1;
      for (const s of this.ahead) if (s < seq) this.ahead.delete(s);
      this.expected = seq;
    }
    this.advance();
    return 'deliver';
  }

  private advance(): void {
    this.expected += 1;
    while (this.ahead.delete(this.expected)) this.expected += 1;
  }
}
