// WhisperLive segment windows → utterances, without a socket: window parsing, the partial's
// stable/unstable split, segments split between two utterances, finalized text stripped.
import { describe, expect, it } from 'vitest';
import { MAX_SEGMENTS, UtteranceMapper, parseSegments } from './whisperlive-segments.ts';
import type { Segment } from './whisperlive-segments.ts';

const RATE = 16_000;
/** No pre-ready drops: server second t is stream sample t × 16000. */
const mapper = (): UtteranceMapper => new UtteranceMapper((n) => n / RATE);
const seg = (start: number, end: number, text: string, completed: boolean): Segment => ({ start, end, text, completed });

describe('parseSegments', () => {
  it('reads numeric or string times, tidies text, and takes the last segment as in progress when `completed` is absent', () => {
    expect(parseSegments([{ start: '0.000', end: '1.200', text: '  Hello   there. ' }, { start: 1.2, end: 2, text: ' How' }])).toEqual([
      seg(0, 1.2, 'Hello there.', true),
      seg(1.2, 2, 'How', false),
    ]);
    expect(parseSegments([{ start: 0, end: 1, text: 'a', completed: false }, { start: 1, end: 2, text: 'b', completed: true }])).toEqual([
      seg(0, 1, 'a', false),
      seg(1, 2, 'b', true),
    ]);
  });

  it('rejects a window of the wrong shape', () => {
    expect(parseSegments([null])).toBeUndefined();
    expect(parseSegments([{ start: 'x', end: 1, text: 'a' }])).toBeUndefined();
    expect(parseSegments([{ start: 0, end: 1 }])).toBeUndefined();
  });
});

describe('UtteranceMapper', () => {
  it('a partial is completed segments as stable and the in-progress one as unstable; only a text change is news', () => {
    const m = mapper();
    m.start(0);
    m.addWindow([seg(0, 1, 'Hello there.', true), seg(1, 2, 'How are', false)]);
    expect(m.next()).toEqual({ kind: 'partial', stable: 'Hello there.', unstable: ' How are' });
    expect(m.next()).toEqual({ kind: 'idle' });
    // The same text with another split is no news.
    m.addWindow([seg(0, 1, 'Hello there.', true), seg(1, 2, 'How are', true)]);
    expect(m.next()).toEqual({ kind: 'idle' });
    m.addWindow([seg(0, 1, 'Hello there.', true), seg(1, 2, 'How are', true), seg(2, 2.5, 'you?', false)]);
    expect(m.next()).toEqual({ kind: 'partial', stable: 'Hello there. How are', unstable: ' you?' });
  });

  it('assigns segments to two utterances by time; a final waits for a window after speechEnd with nothing in progress', () => {
    const m = mapper();
    m.start(0);
    m.addWindow([seg(0, 1.4, 'one', false)]);
    expect(m.next()).toEqual({ kind: 'partial', stable: '', unstable: 'one' });
    const first = m.end(1.5 * RATE);
    m.start(2 * RATE);
    expect(m.open).toBeDefined();
    expect(m.open).not.toBe(first);
    // No window since speechEnd: the first utterance's final is not due yet.
    expect(m.next()).toEqual({ kind: 'idle' });
    expect(m.waiting(first)).toBe(true);

    // `one` ends before the second utterance's start (minus the margin); `two` starts after the
    // first one's end.
    m.addWindow([seg(0, 1.4, 'one', true), seg(2, 3, 'two', false)]);
    expect(m.next()).toEqual({ kind: 'final', utterance: first, text: 'one' });
    expect(m.waiting(first)).toBe(false);
    expect(m.next()).toEqual({ kind: 'partial', stable: '', unstable: 'two' });
    expect(m.next()).toEqual({ kind: 'idle' });
  });

  it('a final waits while a segment of the utterance is in progress; forceFinal() uses the in-progress text', () => {
    const m = mapper();
    m.start(0);
    const u = m.end(RATE);
    m.addWindow([seg(0, 0.6, 'Good', true), seg(0.6, 1, 'morning', false)]);
    expect(m.next()).toEqual({ kind: 'partial', stable: 'Good', unstable: ' morning' });
    expect(m.forceFinal()).toEqual({ kind: 'final', utterance: u, text: 'Good morning' });
    expect(m.forceFinal()).toBeUndefined();
  });

  it('an ended utterance whose segments leave the window is not finalized empty: it waits for them to come back completed', () => {
    const m = mapper();
    m.start(0.3 * RATE);
    m.addWindow([seg(0.3, 1.7, 'Hello, how are you today?', false)]);
    expect(m.next()).toEqual({ kind: 'partial', stable: '', unstable: 'Hello, how are you today?' });
    const first = m.end(1.72 * RATE);
    m.start(2.9 * RATE);
    // The next window holds only the second utterance's words: before, this finalized the first
    // one with no text, and its words were lost.
    m.addWindow([seg(2.79, 3.88, 'Detect the cars on', false)]);
    expect(m.next()).toEqual({ kind: 'idle' });
    expect(m.waiting(first)).toBe(true);
    m.addWindow([seg(0.3, 1.72, 'Hello, how are you today?', true), seg(2.79, 4.1, 'Detect the cars on the', false)]);
    expect(m.next()).toEqual({ kind: 'final', utterance: first, text: 'Hello, how are you today?' });
    expect(m.next()).toEqual({ kind: 'partial', stable: '', unstable: 'Detect the cars on the' });
  });

  it('an ended utterance that never showed text and has no segments is finalized empty at the next window', () => {
    const m = mapper();
    m.start(0);
    const u = m.end(RATE);
    m.addWindow([seg(5, 6, 'later', false)]);
    expect(m.next()).toEqual({ kind: 'final', utterance: u, text: '' });
  });

  it('forceFinal() after segments left the windows for good gives the text last shown (not an empty final); the next utterance goes on', () => {
    const m = mapper();
    m.start(RATE);
    m.addWindow([seg(1, 2, 'hello there', false)]);
    expect(m.next()).toEqual({ kind: 'partial', stable: '', unstable: 'hello there' });
    const u = m.end(2 * RATE);
    m.start(3 * RATE);
    m.addWindow([seg(3, 3.5, 'second', false)]);
    expect(m.next()).toEqual({ kind: 'idle' });
    // Before, the timeout's final was '' and the words shown were lost.
    expect(m.forceFinal()).toEqual({ kind: 'final', utterance: u, text: 'hello there' });
    expect(m.next()).toEqual({ kind: 'partial', stable: '', unstable: 'second' });
  });

  it('speechEnd with no utterance in speech gives an empty final', () => {
    const m = mapper();
    const u = m.end(RATE);
    expect(u.empty).toBe(true);
    expect(m.next()).toEqual({ kind: 'final', utterance: u, text: '' });
  });

  it('strips text already given out in a final from a segment that grew past it', () => {
    const m = mapper();
    m.start(0);
    m.addWindow([seg(0, 1, 'hello', false)]);
    const first = m.end(RATE);
    m.start(RATE);
    expect(m.forceFinal()).toEqual({ kind: 'final', utterance: first, text: 'hello' });

    // A revision of the finalized words that ends little past them adds nothing.
    m.addWindow([seg(0, 1.2, 'Hallo', false)]);
    expect(m.next()).toEqual({ kind: 'idle' });
    // The server's segment spans both utterances: only its new words belong to the second.
    m.addWindow([seg(0, 2.5, 'Hello world', true)]);
    expect(m.next()).toEqual({ kind: 'partial', stable: 'world', unstable: '' });
    const second = m.end(2.5 * RATE);
    m.addWindow([seg(0, 2.5, 'Hello world', true)]);
    expect(m.next()).toEqual({ kind: 'final', utterance: second, text: 'world' });
  });

  it('keeps at most MAX_SEGMENTS completed segments when windows come without a final', () => {
    const m = mapper();
    // An utterance in speech from the start: nothing is old enough to be forgotten by time, and
    // no final (the only place the list used to be trimmed) comes.
    m.start(0);
    const n = 10_000;
    const len = 0.004; // 10 000 segments within 40 s
    for (let i = 0; i < n; i++) {
      // As the server does: the last few completed segments again, then the one in progress.
      const window: Segment[] = [];
      for (let k = Math.max(0, i - 3); k <= i; k++) window.push(seg(k * len, (k + 1) * len, `w${k}`, true));
      window.push(seg((i + 1) * len, (i + 2) * len, 'next', false));
      m.addWindow(window, Math.round((i + 2) * len * RATE));
      expect(m.held.completed).toBeLessThanOrEqual(MAX_SEGMENTS);
    }
    expect(m.held.completed).toBe(MAX_SEGMENTS);
    // The newest segments are the ones kept.
    const p = m.next();
    expect(p.kind).toBe('partial');
    if (p.kind === 'partial') expect(p.stable.endsWith(`w${n - 2} w${n - 1}`)).toBe(true);
  });

  it('forgets segments older than the utterance as windows arrive (background speech without an utterance)', () => {
    const m = mapper();
    // 10 000 s of transcribed background speech, no VAD utterance: one 1 s segment per window.
    for (let i = 0; i < 10_000; i++) m.addWindow([seg(i, i + 1, `bg${i}`, true)], (i + 1) * RATE);
    // About the last minute is kept, not 10 000 segments.
    expect(m.held.completed).toBeLessThanOrEqual(62);
    // An utterance after it is transcribed from its own segments only.
    m.start(10_000.5 * RATE);
    m.addWindow([seg(9_999, 10_000, 'bg9999', true), seg(10_000.5, 10_001.5, 'Hello there.', true), seg(10_001.5, 10_002, 'Bye', false)], 10_002 * RATE);
    expect(m.next()).toEqual({ kind: 'partial', stable: 'Hello there.', unstable: ' Bye' });
    const u = m.end(10_002 * RATE);
    m.addWindow([seg(10_000.5, 10_001.5, 'Hello there.', true), seg(10_001.5, 10_002, 'Bye.', true)], 10_002.5 * RATE);
    expect(m.next()).toEqual({ kind: 'final', utterance: u, text: 'Hello there. Bye.' });
  });

  it('pruning as windows arrive keeps what a waiting utterance and finalized text still need', () => {
    const m = mapper();
    m.start(0);
    m.addWindow([seg(0, 1, 'hello', false)], RATE);
    const first = m.end(RATE);
    m.start(RATE);
    expect(m.forceFinal()).toEqual({ kind: 'final', utterance: first, text: 'hello' });
    // A minute and a half of audio later (the second utterance still in speech), the server's
    // segment that grew from the start of the stream still has the finalized words stripped.
    m.addWindow([seg(0, 90, 'Hello world', true)], 90 * RATE);
    expect(m.next()).toEqual({ kind: 'partial', stable: 'world', unstable: '' });
  });
});
