// Frames about the connection (goaway, a fatal error): written around the queue, not replayed.
import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox.ts';
import { FakeSink } from './fake-sink.testkit.ts';


const fatal = { t: 'error', code: 'SESSION_SLOW_CONSUMER', message: 'slow', retryable: true, fatal: true } as const;

describe('Outbox.sendDirect', () => {
  it('writes at once while backpressured, numbered before the waiting frames, and keeps it out of the replay ring', () => {
    const o = new Outbox({ maxFrames: 10, replayFrames: 100, onOverflow: () => undefined });
    const sink = new FakeSink();
    o.attach(sink);
    sink.next = 'backpressure';
    o.push({ t: 'pong', ts: 1 }); // written (seq 1), then blocked
    o.push({ t: 'pong', ts: 2 }); // waits
    expect(o.sendDirect({ t: 'goaway', reason: 'shutdown', time_left_ms: 5 })).toBe(true);
    expect(sink.frames.map((f) => [f.t, f.seq])).toEqual([
      ['pong', 1],
      ['goaway', 2],
    ]);
    sink.next = 'ok';
    o.onDrain();
    expect(sink.frames.map((f) => [f.t, f.seq])).toEqual([
      ['pong', 1],
      ['goaway', 2],
      ['pong', 3],
    ]);
    expect(o.replay.since(0, o.lastSeq)?.map((f) => f.t)).toEqual(['pong', 'pong']);
  });

  it('without a connection writes nothing and takes no seq', () => {
    const o = new Outbox({ maxFrames: 10, replayFrames: 100, onOverflow: () => undefined });
    expect(o.sendDirect({ t: 'goaway', reason: 'shutdown', time_left_ms: 5 })).toBe(false);
    expect(o.lastSeq).toBe(0);
  });

  it('on overflow, the fatal error sent from onOverflow is numbered before the waiting frames', async () => {
    const sink = new FakeSink();
    const o: Outbox = new Outbox({ maxFrames: 3, replayFrames: 100, onOverflow: () => o.sendDirect(fatal, sink) });
    o.attach(sink);
    sink.next = 'backpressure';
    o.push({ t: 'pong', ts: 0 }); // seq 1, written
    for (let k = 1; k <= 4; k++) o.push({ t: 'pong', ts: k }); // the 4th waiting one overflows
    expect(sink.frames.map((f) => [f.t, f.seq])).toEqual([
      ['pong', 1],
      ['error', 2],
    ]);
    expect(o.replay.since(2, o.lastSeq)?.map((f) => f.seq)).toEqual([3, 4, 5, 6]);
    await new Promise((r) => setImmediate(r));
    expect(sink.frames).toHaveLength(2); // nothing more is written to that connection
  });

  it('replaySince skips the seqs of frames not kept: from just before them or just after them', () => {
    const o = new Outbox({ maxFrames: 10, replayFrames: 100, onOverflow: () => undefined });
    const sink = new FakeSink();
    o.attach(sink);
    o.push({ t: 'pong', ts: 1 }); // 1
    o.sendDirect({ t: 'goaway', reason: 'shutdown', time_left_ms: 5 }); // 2
    o.sendDirect(fatal); // 3
    o.detach();
    o.push({ t: 'pong', ts: 2 }); // 4, stored while detached
    expect(o.replaySince(1)?.map((f) => f.seq)).toEqual([4]);
    expect(o.replaySince(2)?.map((f) => f.seq)).toEqual([4]);
    expect(o.replaySince(3)?.map((f) => f.seq)).toEqual([4]);
    expect(o.replaySince(0)?.map((f) => f.seq)).toEqual([1, 4]);
    expect(o.replaySince(4)).toEqual([]);
    expect(o.replaySince(5)).toBeUndefined();
  });
});
