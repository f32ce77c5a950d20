// The outbox's gen.token coalescing is bounded: a client that does not read a long answer gets
// several frames of at most MAX_MERGED_TOKEN_CHARS, never one frame that grows without end, so the
// queue's frame bound (outboxMaxFrames) still catches the slow consumer.
import { describe, expect, it } from 'vitest';
import { MAX_MERGED_TOKEN_CHARS, Outbox, type OutboxSink } from './outbox.ts';
import type { GenTokenMsg, ServerMessage } from '../../protocol/messages.ts';
import type { SendResult } from '../transport/types.ts';

class SlowSink implements OutboxSink {
  frames: ServerMessage[] = [];
  next: SendResult = 'backpressure';
  send(msg: ServerMessage): SendResult {
    this.frames.push(structuredClone(msg));
    return this.next;
  }
}

const TOKEN = 'abcdefghij'.repeat(10); // 100 chars per token

describe('Outbox gen.token merging bound', () => {
  it('a slow reader of a long answer gets several bounded frames with all the text, in order', () => {
    const o = new Outbox({ maxFrames: 1024, maxBytes: 4 << 20, replayFrames: 0, onOverflow: () => undefined });
    const sink = new SlowSink();
    o.attach(sink);
    o.push({ t: 'turn.started', turn: 'a', kind: 'chat', model: 'm' }); // written; the socket is now backpressured
    const tokens = 5000; // 500 000 chars
    for (let i = 0; i < tokens; i++) o.push({ t: 'gen.token', turn: 'a', i, n: 1, text: TOKEN });
    const perFrame = Math.floor(MAX_MERGED_TOKEN_CHARS / TOKEN.length);
    expect(o.pending).toBe(Math.ceil(tokens / perFrame));
    expect(o.pending).toBeGreaterThan(1);
    sink.next = 'ok';
    o.onDrain();
    const gen = sink.frames.filter((f): f is GenTokenMsg => f.t === 'gen.token');
    expect(gen.length).toBe(Math.ceil(tokens / perFrame));
    let next = 0;
    for (const f of gen) {
      expect(f.text.length).toBeLessThanOrEqual(MAX_MERGED_TOKEN_CHARS);
      expect(f.i).toBe(next);
      expect(f.text.length).toBe(f.n * TOKEN.length);
      next += f.n;
    }
    expect(next).toBe(tokens);
    expect(gen.map((f) => f.text).join('')).toBe(TOKEN.repeat(tokens));
  });

  it('a client that never reads a long answer trips the frame bound (slow consumer)', () => {
    let overflows = 0;
    const o = new Outbox({ maxFrames: 8, replayFrames: 0, onOverflow: () => overflows++ });
    const sink = new SlowSink();
    o.attach(sink);
    o.push({ t: 'turn.started', turn: 'a', kind: 'chat', model: 'm' });
    // 100 000 tokens of 100 chars = 10 MB of text: far more than 8 bounded frames hold.
    for (let i = 0; i < 100_000 && overflows === 0; i++) o.push({ t: 'gen.token', turn: 'a', i, n: 1, text: TOKEN });
    expect(overflows).toBe(1);
    expect(o.overflowed).toBe(true);
  });

  it('a single token longer than the bound is one frame of its own, never split', () => {
    const o = new Outbox({ maxFrames: 16, replayFrames: 0, onOverflow: () => undefined });
    const sink = new SlowSink();
    o.attach(sink);
    o.push({ t: 'turn.started', turn: 'a', kind: 'chat', model: 'm' });
    const big = 'x'.repeat(MAX_MERGED_TOKEN_CHARS + 1);
    o.push({ t: 'gen.token', turn: 'a', i: 0, n: 1, text: 'a' });
    o.push({ t: 'gen.token', turn: 'a', i: 1, n: 1, text: big });
    o.push({ t: 'gen.token', turn: 'a', i: 2, n: 1, text: 'b' });
    expect(o.pending).toBe(3);
    sink.next = 'ok';
    o.onDrain();
    expect(sink.frames.slice(1).map((f) => (f.t === 'gen.token' ? [f.i, f.n, f.text.length] : f.t))).toEqual([
      [0, 1, 1],
      [1, 1, MAX_MERGED_TOKEN_CHARS + 1],
      [2, 1, 1],
    ]);
  });
});
