// Speculative backend work for a voice turn: started while the user is still speaking (segmenter)
// or before the final transcript (VLM), buffered (nothing reaches the client), then either
// committed — the turn replays the buffer and continues live from the same upstream request — or
// discarded, which closes the upstream request at once.
import type { GenEvent, TextGenBackend, TextGenRequest } from '../backends/ports.ts';
import type { SegmentEvent, SegmentRequest, SegmenterBackend } from '../backends/segmenter-port.ts';

/** Events a speculation may hold unread before it gives up (and is discarded): more than a whole
 *  answer of the default limits.maxNewTokens (4096 tokens + its done event). Events the committed
 *  turn has read are released and do not count. */
export const MAX_BUFFERED_EVENTS = 8192;

/** One speculative upstream request and its buffered events. */
export class BufferedStream<E> {
  private events: (E | undefined)[] = [];
  /** Events the committed reader has taken (their slots are released). */
  private read = 0;
  private finished = false;
  private failure: { err: unknown } | undefined;
  private wake: (() => void) | undefined;
  private taken = false;
  readonly controller = new AbortController();

  constructor(start: (signal: AbortSignal) => AsyncIterable<E>) {
    void this.pump(start(this.controller.signal));
  }

  get done(): boolean {
    return this.finished;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Close the upstream request; the stream ends with an abort error for any reader. */
  abort(): void {
    this.controller.abort();
  }

  /** The buffered events, then the live ones, once. `signal` (the turn's) aborts the upstream. */
  async *replay(signal: AbortSignal): AsyncGenerator<E> {
    if (this.taken) throw new Error('a speculation is committed once');
    this.taken = true;
    const onAbort = (): void => this.abort();
    if (signal.aborted) this.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (this.read < this.events.length) {
          const ev = this.events[this.read] as E;
          this.release();
          yield ev;
          continue;
        }
        if (this.failure) throw this.failure.err;
        if (this.finished) return;
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Leaving early (a consumer break) must close the upstream request too.
      if (!this.finished) this.abort();
    }
  }

  private async pump(source: AsyncIterable<E>): Promise<void> {
    try {
      for await (const ev of source) {
        if (this.events.length - this.read >= MAX_BUFFERED_EVENTS) throw new Error('speculation buffer full');
        this.events.push(ev);
        this.notify();
      }
    } catch (err) {
      this.failure = { err };
    }
    this.finished = true;
    this.notify();
  }

  /** Events held and not yet read (tests). */
  get held(): number {
    return this.events.length - this.read;
  }

  /** Drops the event at `read` (the reader has it) and compacts the array now and then, so a
   *  committed stream holds only what its reader has not taken yet. */
  private release(): void {
    this.events[this.read++] = undefined;
    if (this.read >= 1024 && this.read * 2 >= this.events.length) {
      this.events = this.events.slice(this.read);
      this.read = 0;
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

export interface SegmentSpeculation {
  kind: 'segment';
  imageId: string;
  /** Keywords the request was made with: the commit needs the final transcript's to match. */
  phrases: string[];
  stream: BufferedStream<SegmentEvent>;
  startedAt: number;
}

export interface AnswerSpeculation {
  kind: 'answer';
  /** The transcript the request was made with (normalized): the commit needs the final's to match. */
  text: string;
  imageId: string | undefined;
  modelId: string;
  /** DialogueHistory version when it started: a turn finishing in between, or a playback.truncate
   *  rewriting an answer, invalidates it. */
  historyVersion: number;
  stream: BufferedStream<GenEvent>;
  startedAt: number;
}

export type Speculation = SegmentSpeculation | AnswerSpeculation;

/** Transcript comparison for commits: case, punctuation and spacing do not matter. */
export function normalizeTranscript(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function samePhrases(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.map((p) => p.toLowerCase()).sort();
  const y = b.map((p) => p.toLowerCase()).sort();
  return x.every((p, i) => p === y[i]);
}

/** A segmenter whose one request is the speculation's (the session commits through it). */
export function committedSegmenter(real: SegmenterBackend, stream: BufferedStream<SegmentEvent>): SegmenterBackend {
  return {
    id: real.id,
    capabilities: real.capabilities,
    segment: (req: SegmentRequest) => stream.replay(req.signal),
    probe: (t) => real.probe(t),
    close: async () => {},
  };
}

/** A text generator whose one request is the speculation's. */
export function committedGenerator(real: TextGenBackend, stream: BufferedStream<GenEvent>): TextGenBackend {
  return {
    id: real.id,
    capabilities: real.capabilities,
    generate: (req: TextGenRequest) => stream.replay(req.signal),
    probe: (t) => real.probe(t),
    close: async () => {},
  };
}
