import { describe, expect, it } from 'vitest';
import { Outbox, type OutboxSink } from './outbox.ts';
import type { ServerMessage } from '../../protocol/messages.ts';
import type { SendResult } from '../transport/types.ts';

class FakeSink implements OutboxSink {
  frames: ServerMessage[] = [];
  next: SendResult = 'ok';
  send(msg: ServerMessage): SendResult {
    this.frames.push(structuredClone(msg));
    return this.next;
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Outbox', () => {
  it('writes at once while the socket takes more, with consecutive seqs', () => {
    const o = new Outbox({ maxFrames: 10, replayFrames: 10, onOverflow: () => undefined });
    const sink = new FakeSink();
    o.attach(sink);
    o.push({ t: 'turn.started', turn: 'a', kind: 'chat', model: 'm' });
    o.push({ t: 'gen.token', turn: 'a', i: 0, n: 1, text: 'Hel' });
    o.push({ t: 'gen.token', turn: 'a', i: 1, n: 1, text: 'lo' });
    expect(sink.frames.map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(sink.frames[2]).toMatchObject({ t: 'gen.token', i: 1, n: 1, text: 'lo' });
  });

  it('stamps frames with their keys in the canonical order: t, seq, then the fields', () => {
    const o = new Outbox({ maxFrames: 10, replayFrames: 10, onOverflow: () => undefined });
    const sink = new FakeSink();
    o.attach(sink);
    o.push({ t: 'turn.started', turn: 'a', kind: 'chat', model: 'm' });
    o.push({ t: 'gen.token', turn: 'a', i: 0, n: 1, text: 'Hel' });
    expect(sink.frames.map((f) => Object.keys(f))).toEqual([
      ['t', 'seq', 'turn', 'kind', 'model'],
      ['t', 'seq', 'turn', 'i', 'n', 'text'],
    ]);
  });

  it('holds frames while backpressured, coalesces tokens, and resumes on drain', async () => {
    const o = new Outbox({ maxFrames: 10, replayFrames: 100, onOverflow: () => undefined });
    const sink = new FakeSink();
    o.attach(sink);
    sink.next = 'backpressure';
    o.push({ t: 'gen.token', turn: 'a', i: 0, n: 1, text: 'a' });
    await tick();
    expect(sink.frames).toHaveLength(1);
    for (let i = 1; i <= 50; i++) o.push({ t: 'gen.token', turn: 'a', i, n: 1, text: 'b' });
    o.push({ t: 'gen.done', turn: 'a', finish: 'eos_token', tokens: 51, ttft_ms: 1, total_ms: 2, text: 'x' });
    await tick();
    expect(sink.frames).toHaveLength(1);
    expect(o.pending).toBe(2);
    sink.next = 'ok';
    o.onDrain();
    expect(sink.frames.map((f) => f.t)).toEqual(['gen.token', 'gen.token', 'gen.done']);
    expect(sink.frames[1]).toMatchObject({ i: 1, n: 50, text: 'b'.repeat(50), seq: 2 });
    expect(sink.frames[2]?.seq).toBe(3);
  });

  it('keeps only the latest intent.update while queued', async () => {
    const o = new Outbox({ maxFrames: 10, replayFrames: 10, onOverflow: () => undefined });
    const sink = new FakeSink();
    o.attach(sink);
    sink.next = 'backpressure';
    o.push({ t: 'pong', ts: 0 }); // blocks the socket
    o.push({ t: 'intent.update', labels: [{ label: 'chat', score: 0.4 }], stable: false, keywords: [] });
    o.push({ t: 'intent.update', labels: [{ label: 'segment', score: 0.9 }], stable: true, keywords: ['dog'] });
    await tick();
    expect(sink.frames).toHaveLength(1);
    sink.next = 'ok';
    o.onDrain();
    expect(sink.frames).toHaveLength(2);
    expect(sink.frames[1]).toMatchObject({ t: 'intent.update', stable: true, keywords: ['dog'], seq: 2 });
  });

  it('overflows once when control frames exceed the bound and keeps them for resume', async () => {
    let overflows = 0;
    const o = new Outbox({ maxFrames: 3, replayFrames: 100, onOverflow: () => overflows++ });
    const sink = new FakeSink();
    o.attach(sink);
    sink.next = 'backpressure';
    o.push({ t: 'pong', ts: 0 });
    await tick();
    for (let k = 1; k <= 5; k++) o.push({ t: 'pong', ts: k });
    expect(overflows).toBe(1);
    expect(o.overflowed).toBe(true);
    // Everything pushed is sequenced into the replay ring, nothing lost.
    expect(o.lastSeq).toBe(6);
    expect(o.replay.since(1, o.lastSeq)?.map((f) => f.seq)).toEqual([2, 3, 4, 5, 6]);
  });

  it('sequences frames into the replay ring while detached, and replays from a cursor', () => {
    const o = new Outbox({ maxFrames: 10, replayFrames: 4, onOverflow: () => undefined });
    for (let k = 0; k < 6; k++) o.push({ t: 'pong', ts: k });
    expect(o.lastSeq).toBe(6);
    expect(o.replay.since(2, 6)?.map((f) => f.seq)).toEqual([3, 4, 5, 6]);
    expect(o.replay.since(1, 6)).toBeUndefined(); // seq 2 fell off the ring
    expect(o.replay.since(6, 6)).toEqual([]);
    expect(o.replay.since(7, 6)).toBeUndefined(); // a cursor from the future is refused
    o.replay.ack(4);
    expect(o.replay.length).toBe(2);
  });

  it('moves queued frames to the replay ring on detach', async () => {
    const o = new Outbox({ maxFrames: 10, replayFrames: 10, onOverflow: () => undefined });
    const sink = new FakeSink();
    o.attach(sink);
    sink.next = 'backpressure';
    o.push({ t: 'pong', ts: 1 });
    o.push({ t: 'pong', ts: 2 });
    o.detach();
    await tick();
    expect(sink.frames).toHaveLength(1);
    expect(o.replay.since(0, o.lastSeq)?.map((f) => f.seq)).toEqual([1, 2]);
  });
});
