// EventChannel: order, waiting consumer, bounded queue (onFull/onDrain), end and failure after the
// queued events, early return, and the one-pending-next rule.
import { describe, expect, it } from 'vitest';
import { EventChannel, failedStream } from './event-channel.ts';

function hooks() {
  const calls: string[] = [];
  return { calls, hooks: { onFull: () => calls.push('full'), onDrain: () => calls.push('drain'), onReturn: () => calls.push('return') } };
}

describe('EventChannel', () => {
  it('delivers pushed events in order, then done after end()', async () => {
    const { hooks: h } = hooks();
    const ch = new EventChannel<number>(h);
    ch.push(1);
    ch.push(2);
    ch.end();
    ch.push(3); // after end: ignored
    const got: number[] = [];
    for await (const v of ch) got.push(v);
    expect(got).toEqual([1, 2]);
  });

  it('resolves a waiting next() with the next push', async () => {
    const { hooks: h } = hooks();
    const ch = new EventChannel<string>(h);
    const p = ch.next();
    ch.push('a');
    expect(await p).toEqual({ done: false, value: 'a' });
    const q = ch.next();
    ch.end();
    expect(await q).toEqual({ done: true, value: undefined });
  });

  it('asks the producer to pause at the high-water mark and to resume once drained', async () => {
    const { calls, hooks: h } = hooks();
    const ch = new EventChannel<number>(h, 3);
    ch.push(1);
    ch.push(2);
    expect(calls).toEqual([]);
    ch.push(3);
    ch.push(4);
    expect(calls).toEqual(['full']);
    for (let k = 0; k < 3; k++) await ch.next();
    expect(calls).toEqual(['full']);
    await ch.next();
    expect(calls).toEqual(['full', 'drain']);
    expect(ch.queued).toBe(0);
  });

  it('throws a failure after the events queued before it, once', async () => {
    const { hooks: h } = hooks();
    const ch = new EventChannel<number>(h);
    ch.push(1);
    ch.fail(new Error('boom'));
    expect(await ch.next()).toEqual({ done: false, value: 1 });
    await expect(ch.next()).rejects.toThrow('boom');
    expect(await ch.next()).toEqual({ done: true, value: undefined });
  });

  it('rejects a waiting next() on failure', async () => {
    const { hooks: h } = hooks();
    const ch = new EventChannel<number>(h);
    const p = ch.next();
    ch.fail(new Error('reset'));
    await expect(p).rejects.toThrow('reset');
  });

  it('return() drops the queue, settles a waiting next() and tells the producer once', async () => {
    const { calls, hooks: h } = hooks();
    const ch = new EventChannel<number>(h);
    ch.push(1);
    expect(await ch.return()).toEqual({ done: true, value: undefined });
    expect(await ch.return()).toEqual({ done: true, value: undefined });
    expect(await ch.next()).toEqual({ done: true, value: undefined });
    expect(calls).toEqual(['return']);
    expect(ch.closed).toBe(true);
    const ch2 = new EventChannel<number>(h);
    const p = ch2.next();
    await ch2.return();
    expect(await p).toEqual({ done: true, value: undefined });
  });

  it('refuses a second concurrent next()', async () => {
    const { hooks: h } = hooks();
    const ch = new EventChannel<number>(h);
    void ch.next();
    await expect(ch.next()).rejects.toThrow(/pending/);
  });

  it('failedStream throws at the first next(), not before', async () => {
    const it = failedStream<number>(new Error('refused'));
    await expect(it.next()).rejects.toThrow('refused');
  });
});
