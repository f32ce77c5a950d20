// WhisperLive's `segments` windows mapped onto the gateway VAD's utterances, with no socket and no
// timers: parsing a window, which segments belong to which utterance, a partial's stable/unstable
// split, when an utterance's final is due, and stripping text already given out in a final. The
// stream (whisperlive.ts) feeds it VAD boundaries and windows and emits what it hands back.
//
// Clock: utterance boundaries are stream samples, segments are seconds on the server's clock; the
// owner supplies the conversion (pre-ready drops move it) and is asked again at every use.
//
// Utterance mapping: a segment belongs to the utterance in progress when it ends after the
// utterance's start (minus a small margin) and, if a previous utterance still waits for its
// final, starts at or after that one's end. Completed segments are the partial's stable part,
// the in-progress one its unstable part. After speechEnd the final waits for a message in which
// none of the utterance's segments is still in progress (WhisperLive completes the last segment
// after `same_output_threshold` identical passes), or the owner's finalize timeout
// (forceFinal()), after which the last in-progress text is used. A window in which an ended
// utterance that had shown text has no segments at all does not finalize it (empty): only a
// completed segment or the timeout does, and at the timeout, with still no segment of it, the text
// last shown in its partial is its final. Text already given out in a
// final is stripped from segments that grow past it (the server does not know our utterance
// boundaries).
import { commonPrefix, glue, joinTokens, tidy, tokens } from './text.ts';

/** A segment may end this much before the utterance's VAD start and still belong to it, s. */
const START_MARGIN_S = 0.3;
/** Float tolerance on the server's 3-decimal times, s. */
const EPS_S = 0.0015;
/** An in-progress segment that revised text already finalized, ending this little past it, adds
 *  nothing new, s. */
const REVISION_SLACK_S = 0.3;
/** Completed segments remembered, and segments given out in finals (besides pruning by time). */
export const MAX_SEGMENTS = 500;
/** Segments are remembered this long before the first waiting utterance's start (or, with none,
 *  the stream position): a server segment revised or grown that far back still meets them, s. */
const KEEP_BEFORE_S = 60;

export interface Segment {
  /** Seconds on the server's clock. */
  start: number;
  end: number;
  /** Tidied text. */
  text: string;
  completed: boolean;
}

export interface Utterance {
  /** Stream samples of the VAD's start and (once speechEnd came) end; mapped to the server's
   *  clock when used, since pre-ready drops move it. */
  startSample: number;
  endSample: number | undefined;
  /** speechEnd without a speechStart: an empty final. */
  empty: boolean;
  /** Messages seen when speechEnd came (the final waits for a later one). */
  endSeq: number;
  lastPartial: string;
}

/** The final of `utterance`, which has left the mapper. */
export interface FinalStep {
  kind: 'final';
  utterance: Utterance;
  text: string;
}

/** What to emit next: a final (ask again after it), a partial (the last news for now), or none. */
export type MapStep = FinalStep | { kind: 'partial'; stable: string; unstable: string } | { kind: 'idle' };

const IDLE: MapStep = { kind: 'idle' };

export function seconds(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : NaN;
}

/** Parses a `segments` array; undefined when its shape is wrong. Servers before v0.6.0 send no
 *  `completed`: there the last segment is the one in progress. */
export function parseSegments(raw: unknown[]): Segment[] | undefined {
  const out: Segment[] = [];
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (typeof r !== 'object' || r === null) return undefined;
    const o = r as Record<string, unknown>;
    const start = seconds(o.start);
    const end = seconds(o.end);
    if (Number.isNaN(start) || Number.isNaN(end) || typeof o.text !== 'string') return undefined;
    const completed = typeof o.completed === 'boolean' ? o.completed : i < raw.length - 1;
    out.push({ start, end, text: tidy(o.text), completed });
  }
  return out;
}

export function joinTexts(segs: readonly Segment[]): string {
  let out = '';
  for (const s of segs) out += glue(out, s.text);
  return out;
}

export class UtteranceMapper {
  private completed: Segment[] = [];
  /** Start and end of the newest completed segment ever seen. */
  private completedStart = -Infinity;
  private completedEnd = -Infinity;
  private inProgress: Segment[] = [];
  /** Segments given out in finals (with their full text), to strip from segments that grow on. */
  private consumed: Segment[] = [];
  /** Utterances waiting for their final, oldest first. */
  private utts: Utterance[] = [];
  /** The utterance in speech (last of `utts`), if any. */
  private current: Utterance | undefined;
  /** Windows seen. */
  private seq = 0;

  /** `sec(n)`: server seconds of stream sample `n`. */
  constructor(private readonly sec: (sample: number) => number) {}

  /** The utterance in speech, if any. */
  get open(): Utterance | undefined {
    return this.current;
  }

  /** speechStart: a new utterance, unless one is in speech. */
  start(atSample: number): void {
    if (this.current !== undefined) return;
    const u: Utterance = { startSample: atSample, endSample: undefined, empty: false, endSeq: 0, lastPartial: '' };
    this.utts.push(u);
    this.current = u;
  }

  /** speechEnd: ends the utterance in speech (or, with none, queues an empty one) and returns it. */
  end(atSample: number): Utterance {
    let u = this.current;
    if (u === undefined) {
      u = { startSample: atSample, endSample: undefined, empty: true, endSeq: 0, lastPartial: '' };
      this.utts.push(u);
    }
    this.current = undefined;
    u.endSample = Math.max(u.startSample, atSample);
    u.endSeq = this.seq;
    return u;
  }

  /** Whether `u` still waits for its final. */
  waiting(u: Utterance): boolean {
    return this.utts.includes(u);
  }

  /** One `segments` window (parsed). `pos` (samples written so far): segments that can no longer
   *  belong to an utterance are forgotten now, not only at the next final (long stretches without
   *  an utterance, e.g. speech below the VAD's gate that Whisper transcribes). */
  addWindow(segs: readonly Segment[], pos?: number): void {
    const live: Segment[] = [];
    for (const seg of segs) {
      if (seg.completed) this.addCompleted(seg);
      else live.push(seg);
    }
    this.inProgress = live;
    this.seq++;
    if (pos !== undefined) this.prune(pos);
  }

  /** Segments remembered: completed ones, and ones given out in finals (bounds, tests). */
  get held(): { completed: number; consumed: number } {
    return { completed: this.completed.length, consumed: this.consumed.length };
  }

  /** The first waiting utterance's final if it is complete, else its partial if the text changed. */
  next(): MapStep {
    const u = this.utts[0];
    if (u === undefined) return IDLE;
    if (u.empty) return this.final(u, []);
    const { done, live } = this.collect(u);
    if (u.endSample !== undefined && this.seq > u.endSeq && live.length === 0) {
      if (done.length > 0 || u.lastPartial === '') return this.final(u, done);
      // Its segments left the window although it had shown text: not a sign its text is complete
      // (the server may send them back completed). Wait for that or for the finalize timeout.
      return IDLE;
    }
    const stable = joinTexts(done);
    const unstable = glue(stable, joinTexts(live));
    // Only a change of the text is news (the port's rule), not of its stable/unstable split.
    const text = stable + unstable;
    if (text === u.lastPartial) return IDLE;
    u.lastPartial = text;
    return { kind: 'partial', stable, unstable };
  }

  /** Finalize timeout: the first waiting utterance's final from the latest segments, in progress
   *  or not; undefined when none waits. */
  forceFinal(): FinalStep | undefined {
    const u = this.utts[0];
    if (u === undefined) return undefined;
    if (u.empty) return this.final(u, []);
    const { done, live } = this.collect(u);
    const used = done.concat(live);
    // Its segments left the windows for good (the server re-transcribed that audio to nothing):
    // the gateway's VAD heard speech and the client was shown these words, so they are the final.
    if (used.length === 0 && u.lastPartial !== '') return this.finalText(u, u.lastPartial);
    return this.final(u, used);
  }

  /** Forgets segments that can no longer belong to an utterance (`pos`: samples written): those
   *  ending KEEP_BEFORE_S before the first waiting utterance's start, or before `pos` with none. */
  prune(pos: number): void {
    const floor = this.sec(this.utts[0]?.startSample ?? pos) - START_MARGIN_S - KEEP_BEFORE_S;
    let i = 0;
    while (i < this.completed.length && ((this.completed[i] as Segment).end < floor || this.completed.length - i > MAX_SEGMENTS)) i++;
    if (i > 0) this.completed.splice(0, i);
    let j = 0;
    while (j < this.consumed.length && ((this.consumed[j] as Segment).end < floor || this.consumed.length - j > MAX_SEGMENTS)) j++;
    if (j > 0) this.consumed.splice(0, j);
  }

  /** Drops every waiting utterance (the stream closed). */
  clear(): void {
    this.utts = [];
    this.current = undefined;
  }

  /** Takes `u` (the first of `utts`) out with `text` for its final, no segment consumed. */
  private finalText(u: Utterance, text: string): FinalStep {
    this.utts.shift();
    return { kind: 'final', utterance: u, text };
  }

  /** Takes `u` (the first of `utts`) out with the segments `used` for its final. */
  private final(u: Utterance, used: Segment[]): FinalStep {
    this.utts.shift();
    for (const seg of used) {
      // Remember the whole server text of the segment: a later, longer version strips all of it.
      const full = this.completed.find((c) => c.start === seg.start) ?? this.inProgress.find((c) => c.start === seg.start) ?? seg;
      this.consumed.push(full);
    }
    if (this.consumed.length > MAX_SEGMENTS) this.consumed.splice(0, this.consumed.length - MAX_SEGMENTS);
    return { kind: 'final', utterance: u, text: joinTexts(used) };
  }

  /** Segments of `u` (the first of `utts` unless forced in order): completed and in progress,
   *  with text already finalized stripped. */
  private collect(u: Utterance): { done: Segment[]; live: Segment[] } {
    const idx = this.utts.indexOf(u);
    const prev = idx > 0 ? this.utts[idx - 1] : undefined;
    const lower = prev?.endSample === undefined ? -Infinity : this.sec(prev.endSample);
    const start = this.sec(u.startSample);
    const end = u.endSample === undefined ? undefined : this.sec(u.endSample);
    const done: Segment[] = [];
    const live: Segment[] = [];
    const take = (seg: Segment, into: Segment[]): void => {
      if (seg.end <= start - START_MARGIN_S || seg.start < lower - EPS_S) return;
      if (end !== undefined && seg.start >= end - EPS_S) return;
      const text = this.unconsumed(seg);
      if (text === '') return;
      into.push(text === seg.text ? seg : { ...seg, text });
    };
    for (const seg of this.completed) take(seg, done);
    for (const seg of this.inProgress) take(seg, live);
    return { done, live };
  }

  /** The part of `seg`'s text not given out in an earlier final. */
  private unconsumed(seg: Segment): string {
    for (let i = this.consumed.length - 1; i >= 0; i--) {
      const c = this.consumed[i] as Segment;
      if (seg.start >= c.end - EPS_S || seg.end <= c.start + EPS_S) continue;
      const st = tokens(seg.text);
      const ct = tokens(c.text);
      const k = commonPrefix(ct, st);
      if (k === ct.length) return joinTokens(st.slice(k));
      if (seg.end <= c.end + REVISION_SLACK_S) return '';
      return joinTokens(st.slice(ct.length));
    }
    return seg.text;
  }

  private addCompleted(seg: Segment): void {
    // Windows repeat the last N completed segments: keep one copy, in order (as the Python
    // client does: a completed segment is new when it starts at or after the last one's end).
    // Tracked apart from `completed`, which prune() shortens.
    if (seg.start < this.completedEnd - EPS_S || Math.abs(seg.start - this.completedStart) < EPS_S) return;
    this.completedStart = seg.start;
    this.completedEnd = seg.end;
    this.completed.push(seg);
    // The cap holds on every add: windows may come for long without a final (and its prune()).
    if (this.completed.length > MAX_SEGMENTS) this.completed.shift();
  }
}
