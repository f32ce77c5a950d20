import { describe, expect, it } from 'vitest';
import { MAX_MERGED_TOKEN_CHARS, Outbox } from './outbox.ts';
import { frameBytes } from './frame-bytes.ts';
import type { ServerPayload } from '../../protocol/messages.ts';
import { FakeSink } from './fake-sink.testkit.ts';


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

  it('latest-wins keeps order: a partial never overtakes a queued asr.final, and intent updates of another turn are kept', async () => {
    const o = new Outbox({ maxFrames: 20, replayFrames: 20, onOverflow: () => undefined });
    const sink = new FakeSink();
    o.attach(sink);
    sink.next = 'backpressure';
    o.push({ t: 'pong', ts: 0 }); // blocks the socket
    o.push({ t: 'asr.partial', stable: '', unstable: 'hello' });
    o.push({ t: 'asr.partial', stable: 'hello', unstable: ' there' });
    o.push({ t: 'asr.final', text: 'Hello there.', language: 'en', turn: 'v1' });
    o.push({ t: 'asr.partial', stable: '', unstable: 'next' });
    o.push({ t: 'intent.update', turn: 'v1', labels: [{ label: 'chat', score: 0.4 }], stable: false, keywords: [] });
    o.push({ t: 'intent.update', turn: 'v2', labels: [{ label: 'segment', score: 0.9 }], stable: false, keywords: [] });
    o.push({ t: 'intent.update', turn: 'v1', labels: [{ label: 'chat', score: 0.8 }], stable: true, keywords: [] });
    await tick();
    sink.next = 'ok';
    o.onDrain();
    const sent = sink.frames.slice(1).map((f) => (f.t === 'asr.partial' ? `partial:${f.stable}${f.unstable}` : f.t === 'intent.update' ? `intent:${f.turn ?? ''}:${f.stable}` : f.t));
    // Before, the partial of the next utterance replaced the first one, ahead of the final.
    expect(sent).toEqual(['partial:hello there', 'asr.final', 'partial:next', 'intent:v1:true', 'intent:v2:false']);
    expect(o.pendingBytes).toBe(0);
  });

  it('a turn-less intent.update (the user still speaking) does not overtake the asr.final of the utterance before', async () => {
    const o = new Outbox({ maxFrames: 20, replayFrames: 20, onOverflow: () => undefined });
    const sink = new FakeSink();
    o.attach(sink);
    sink.next = 'backpressure';
    o.push({ t: 'pong', ts: 0 });
    o.push({ t: 'intent.update', labels: [{ label: 'chat', score: 0.9 }], stable: true, keywords: ['one'] });
    o.push({ t: 'asr.final', text: 'utterance one', turn: 'v1' });
    o.push({ t: 'turn.started', turn: 'v1', kind: 'chat', model: 'm' });
    o.push({ t: 'intent.update', labels: [{ label: 'segment', score: 0.5 }], stable: false, keywords: ['two'] });
    o.push({ t: 'intent.update', labels: [{ label: 'segment', score: 0.7 }], stable: false, keywords: ['two', 'dog'] });
    await tick();
    sink.next = 'ok';
    o.onDrain();
    const sent = sink.frames.slice(1).map((f) => (f.t === 'intent.update' ? `intent:${f.keywords.join('+')}` : f.t));
    expect(sent).toEqual(['intent:one', 'asr.final', 'turn.started', 'intent:two+dog']);
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

describe('Outbox byte bound', () => {
  /** An outbox whose socket is backpressured after its first frame (a pong, written at once). */
  function stalled(maxBytes: number, maxFrames = 1024): { o: Outbox; sink: FakeSink; overflows: () => number } {
    let overflows = 0;
    const o = new Outbox({ maxFrames, maxBytes, replayFrames: 100, replayBytes: 8 << 20, onOverflow: () => overflows++ });
    const sink = new FakeSink();
    o.attach(sink);
    sink.next = 'backpressure';
    o.push({ t: 'pong', ts: 0 });
    return { o, sink, overflows: () => overflows };
  }

  it.each([
    ['gen.done with a long answer', (k: number): ServerPayload => ({ t: 'gen.done', turn: 'a', finish: 'length', tokens: 1, ttft_ms: 1, total_ms: 2, text: `${k}`.repeat(100_000) })],
    ['mask.frame with long RLE counts', (k: number): ServerPayload => ({ t: 'mask.frame', turn: 'a', id: k, label: 'dog', score: 0.9, rle: { size: [1000, 1000], counts: 'a'.repeat(300_000) } })],
  ])('a slow consumer of a few very large frames (%s) overflows on bytes long before maxFrames', (_name, big) => {
    const { o, overflows } = stalled(1 << 20);
    o.push(big(1));
    o.push(big(2));
    o.push(big(3));
    expect(overflows()).toBe(0);
    expect(o.pending).toBe(3);
    o.push(big(4)); // 4 × ≥ 300 000 estimated bytes > 1 MiB
    expect(overflows()).toBe(1);
    expect(o.overflowed).toBe(true);
    expect(o.pendingBytes).toBe(0);
    // Nothing lost: every frame is sequenced into the replay ring for a resume.
    expect(o.replay.since(1, o.lastSeq)?.map((f) => f.seq)).toEqual([2, 3, 4, 5]);
  });

  it('counts the growth of a merged gen.token frame toward the byte bound', () => {
    const { o, sink, overflows } = stalled(128 << 10);
    const token = 'x'.repeat(100);
    let pushed = 0;
    for (; pushed < 1000 && overflows() === 0; pushed++) o.push({ t: 'gen.token', turn: 'a', i: pushed, n: 1, text: token });
    expect(overflows()).toBe(1);
    // One merged frame (under MAX_MERGED_TOKEN_CHARS), far from maxFrames.
    expect(pushed).toBeLessThan(MAX_MERGED_TOKEN_CHARS / token.length);
    expect(pushed * token.length * 3).toBeGreaterThan(128 << 10);
    expect(sink.frames.map((f) => f.t)).toEqual(['pong']);
    const replayed = o.replay.since(1, o.lastSeq) ?? [];
    expect(replayed.map((f) => (f.t === 'gen.token' ? [f.i, f.n, f.text.length] : f.t))).toEqual([[0, pushed, pushed * token.length]]);
  });

  it('latest-wins replacement does not double count: a big asr.partial replaced by small ones never overflows', () => {
    const bigPartial: ServerPayload = { t: 'asr.partial', stable: 'w'.repeat(20_000), unstable: 'u'.repeat(20_000) };
    const small: ServerPayload = { t: 'asr.partial', stable: 'hello', unstable: 'wor' };
    const { o, overflows } = stalled(frameBytes(bigPartial) * 2);
    o.push({ t: 'vad', event: 'speech_start', at_ms: 0 });
    for (let k = 0; k < 1000; k++) {
      o.push(bigPartial);
      o.push(small);
    }
    expect(overflows()).toBe(0);
    expect(o.pending).toBe(2);
    expect(o.pendingBytes).toBe(frameBytes({ t: 'vad', event: 'speech_start', at_ms: 0 }) + frameBytes(small));
    // The bound is live: the replaced frame growing back past it overflows.
    o.push({ t: 'intent.update', labels: [{ label: 'chat', score: 0.5 }], stable: false, keywords: ['k'.repeat(40_000)] });
    o.push({ t: 'intent.update', labels: [{ label: 'chat', score: 0.5 }], stable: false, keywords: ['k'.repeat(100_000)] });
    expect(overflows()).toBe(1);
  });

  it('keeps the count in step with the queue and returns it to 0 after a drain or a detach', async () => {
    const { o, sink } = stalled(4 << 20);
    const done: ServerPayload = { t: 'gen.done', turn: 'a', finish: 'eos_token', tokens: 2, ttft_ms: 1, total_ms: 2, text: 'héllo wörld' };
    o.push({ t: 'turn.started', turn: 'a', kind: 'chat', model: 'm' });
    o.push({ t: 'gen.token', turn: 'a', i: 0, n: 1, text: 'hé' });
    o.push({ t: 'gen.token', turn: 'a', i: 1, n: 1, text: 'llo wörld' });
    o.push(done);
    const expected =
      frameBytes({ t: 'turn.started', turn: 'a', kind: 'chat', model: 'm' }) +
      frameBytes({ t: 'gen.token', turn: 'a', i: 0, n: 2, text: 'héllo wörld' }) +
      frameBytes(done);
    expect(o.pending).toBe(3);
    expect(o.pendingBytes).toBe(expected);
    // A flush that stops part-way (the socket is backpressured again) subtracts what it wrote.
    let writes = 0;
    sink.send = (msg) => {
      sink.frames.push(structuredClone(msg));
      return ++writes === 1 ? 'backpressure' : 'ok';
    };
    o.onDrain();
    expect(o.pending).toBe(2);
    expect(o.pendingBytes).toBe(expected - frameBytes({ t: 'turn.started', turn: 'a', kind: 'chat', model: 'm' }));
    o.onDrain();
    expect(o.pending).toBe(0);
    expect(o.pendingBytes).toBe(0);
    // Queued again, then detached: the frames move to the replay ring and the count to 0.
    sink.send = (msg) => {
      sink.frames.push(structuredClone(msg));
      return 'backpressure';
    };
    o.push({ t: 'pong', ts: 1 });
    o.push({ t: 'pong', ts: 2 });
    expect(o.pendingBytes).toBe(frameBytes({ t: 'pong', ts: 2 }));
    o.detach();
    await tick();
    expect(o.pendingBytes).toBe(0);
  });
});
