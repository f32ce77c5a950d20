// Push mode (drainTo) on the per-token path: EventChannel's drain, consumeEvents over streams with
// and without it, and the router passing it through with its bookkeeping (outstanding counts,
// breakers: a consumer's exception is not an upstream failure).
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { EventChannel } from './http/event-channel.ts';
import { consumeEvents } from './push-drain.ts';
import type { GenEvent } from './ports.ts';
import { createRoutedBackend, type RoutedBackend } from './router/router.ts';
import { ChannelBackend } from './channel-backend.testkit.ts';

function hooks() {
  const calls: string[] = [];
  return { calls, hooks: { onFull: () => calls.push('full'), onDrain: () => calls.push('drain'), onReturn: () => calls.push('return') } };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('EventChannel.drainTo', () => {
  it('hands over the queued events in order, then each push synchronously, and resolves on end()', async () => {
    const { calls, hooks: h } = hooks();
    const ch = new EventChannel<number>(h, 2);
    ch.push(1);
    ch.push(2); // high-water mark: the producer is asked to pause
    const got: number[] = [];
    const drained = ch.drainTo((v) => got.push(v));
    expect(got).toEqual([1, 2]);
    expect(calls).toEqual(['full', 'drain']); // emptied: the producer may resume
    ch.push(3);
    expect(got).toEqual([1, 2, 3]); // inside push(), no promise in between
    ch.end();
    await expect(drained).resolves.toBeUndefined();
    ch.push(4);
    expect(got).toEqual([1, 2, 3]);
  });

  it("rejects with the stream's error after the events that came before it", async () => {
    const { hooks: h } = hooks();
    const ch = new EventChannel<string>(h);
    ch.push('a');
    ch.fail(new Error('reset'));
    const got: string[] = [];
    await expect(ch.drainTo((v) => got.push(v))).rejects.toThrow('reset');
    expect(got).toEqual(['a']);
    expect(await ch.next()).toEqual({ done: true, value: undefined }); // the error is thrown once
  });

  it("an exception from the sink closes the stream (the producer's onReturn) and rejects with it", async () => {
    const { calls, hooks: h } = hooks();
    const ch = new EventChannel<number>(h);
    const got: number[] = [];
    const drained = ch.drainTo((v) => {
      if (v === 2) throw new Error('sink broke');
      got.push(v);
    });
    ch.push(1);
    expect(() => ch.push(2)).not.toThrow(); // never into the producer's socket callback
    ch.push(3);
    await expect(drained).rejects.toThrow('sink broke');
    expect(got).toEqual([1]);
    expect(calls).toEqual(['return']);
    expect(ch.closed).toBe(true);
  });

  it('return() during the drain resolves it and closes the stream', async () => {
    const { calls, hooks: h } = hooks();
    const ch = new EventChannel<number>(h);
    const drained = ch.drainTo(() => undefined);
    await ch.return();
    await expect(drained).resolves.toBeUndefined();
    expect(calls).toEqual(['return']);
  });

  it('one reader at a time: next() during a drain and a drain during a pending next() are refused', async () => {
    const { hooks: h } = hooks();
    const a = new EventChannel<number>(h);
    const drained = a.drainTo(() => undefined);
    await expect(a.next()).rejects.toThrow(/next\(\) while drainTo\(\) is active/);
    a.end();
    await drained;
    const b = new EventChannel<number>(h);
    const pending = b.next();
    await expect(b.drainTo(() => undefined)).rejects.toThrow(/drainTo\(\) while a read is pending/);
    b.push(7);
    expect(await pending).toEqual({ done: false, value: 7 });
  });
});

describe('consumeEvents', () => {
  it('reads a stream without push mode as for-await does, and closes it when the consumer throws', async () => {
    let finalized = false;
    async function* gen(): AsyncGenerator<number> {
      try {
        yield 1;
        yield 2;
        yield 3;
      } finally {
        finalized = true;
      }
    }
    const all: number[] = [];
    await consumeEvents(gen(), (v) => all.push(v));
    expect(all).toEqual([1, 2, 3]);
    const some: number[] = [];
    await expect(
      consumeEvents(gen(), (v) => {
        if (v === 2) throw new Error('stop');
        some.push(v);
      }),
    ).rejects.toThrow('stop');
    expect(some).toEqual([1]);
    expect(finalized).toBe(true); // return() ran the generator's finally
  });

  it('switches to push mode when the stream offers it', async () => {
    const { hooks: h } = hooks();
    const ch = new EventChannel<number>(h);
    const got: number[] = [];
    const done = consumeEvents(ch, (v) => got.push(v));
    ch.push(1);
    ch.push(2);
    expect(got).toEqual([1, 2]); // no await needed: pushed straight to the consumer
    ch.end();
    await done;
    expect(got).toEqual([1, 2]);
  });
});


const token = (text: string): GenEvent => ({ kind: 'token', id: 1, text, special: false });
const done: GenEvent = { kind: 'done', finish: 'length', generatedText: 'abc', tokens: 3 };

function routed(b: ChannelBackend): RoutedBackend {
  return createRoutedBackend({ id: 'llm', replicas: [b], baseBackoffMs: 0, maxAttempts: 1, log: () => undefined });
}

function request() {
  return { messages: [{ role: 'user' as const, content: 'hi' }], params: { max_new_tokens: 8 }, signal: new AbortController().signal };
}

describe('router: push mode', () => {
  it('after the first event, tokens reach the consumer inside the replica stream’s push; outstanding returns to 0', async () => {
    const b = new ChannelBackend();
    const router = routed(b);
    const texts: string[] = [];
    const consumed = consumeEvents(router.generate(request()), (ev) => texts.push(ev.kind === 'token' ? ev.text : '|'));
    await tick();
    const s = b.streams[0]!;
    s.ch.push(token('a')); // the first event goes through next() and the router's attempt logic
    await tick();
    expect(texts).toEqual(['a']);
    s.ch.push(token('b'));
    expect(texts).toEqual(['a', 'b']); // pushed synchronously
    expect(router.stats().replicas[0]?.outstanding).toBe(1);
    s.ch.push(done);
    s.ch.end();
    await consumed;
    expect(texts).toEqual(['a', 'b', '|']);
    expect(router.stats().replicas[0]?.outstanding).toBe(0);
    await router.close();
  });

  it('an upstream error in push mode propagates as it is and counts against the replica', async () => {
    const b = new ChannelBackend();
    const router = routed(b);
    for (let k = 0; k < 3; k++) {
      const consumed = consumeEvents(router.generate(request()), () => undefined);
      await tick();
      const s = b.streams[k]!;
      s.ch.push(token('a'));
      await tick();
      s.ch.fail(new VlpError('UPSTREAM_RESET', 'reset mid-stream'));
      await expect(consumed).rejects.toMatchObject({ code: 'UPSTREAM_RESET' });
    }
    expect(b.streams).toHaveLength(3); // no retry once tokens flowed
    expect(router.stats().replicas[0]?.up).toBe(false); // three consecutive failures
    await router.close();
  });

  it("a consumer's exception closes the upstream stream and counts as a stream served, not a failure", async () => {
    const b = new ChannelBackend();
    const router = routed(b);
    /** One stream: first token, then a mid-stream upstream reset or a second token the consumer rejects. */
    const play = async (k: number, ending: 'reset' | 'consumer'): Promise<void> => {
      const consumed = consumeEvents(router.generate(request()), (ev) => {
        if (ev.kind === 'token' && ev.text === 'boom') throw new Error('consumer bug');
      });
      await tick();
      const s = b.streams[k]!;
      s.ch.push(token('a'));
      await tick();
      if (ending === 'reset') {
        s.ch.fail(new VlpError('UPSTREAM_RESET', 'reset mid-stream'));
        await expect(consumed).rejects.toMatchObject({ code: 'UPSTREAM_RESET' });
      } else {
        s.ch.push(token('boom'));
        await expect(consumed).rejects.toThrow('consumer bug');
        expect(s.returned()).toBe(true); // the upstream request is closed
      }
    };
    await play(0, 'reset');
    await play(1, 'reset');
    await play(2, 'consumer'); // a served stream: resets the breaker's count of consecutive failures
    await play(3, 'reset');
    expect(router.stats().replicas[0]).toMatchObject({ up: true, outstanding: 0 });
    await router.close();
  });
});
