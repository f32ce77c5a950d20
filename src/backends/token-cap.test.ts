// The token cap (token-cap.ts): a backend that ignores max_new_tokens is cut after the cap, its
// stream closed, and the stream ends with a done event of the cap's own; one that honours the limit
// passes through unchanged; push mode (drainTo) still reaches the consumer synchronously, also
// through the router.
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import type { GenParams } from '../../protocol/messages.ts';
import type { DoneEvent, GenEvent } from './ports.ts';
import { consumeEvents, drainableOf } from './push-drain.ts';
import { createRoutedBackend } from './router/router.ts';
import { FakeBackend } from './router/fake-backend.testkit.ts';
import { tokenCap, withTokenCap, type CappedStream } from './token-cap.ts';
import { ChannelBackend } from './channel-backend.testkit.ts';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function request(params: GenParams) {
  return { messages: [{ role: 'user' as const, content: 'hi' }], params, signal: new AbortController().signal };
}

const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `w${i}`);
const token = (text: string): GenEvent => ({ kind: 'token', id: 1, text, special: false });
const capped = (tokens: number): DoneEvent => ({ kind: 'done', finish: 'length', generatedText: '', tokens, capped: true });

async function collect(events: AsyncIterable<GenEvent>): Promise<GenEvent[]> {
  const out: GenEvent[] = [];
  for await (const ev of events) out.push(ev);
  return out;
}


describe('tokenCap', () => {
  it("is the request's max_new_tokens, else the ceiling, and never more than the ceiling", () => {
    expect(tokenCap({ max_new_tokens: 48 }, 4096)).toBe(48);
    expect(tokenCap({}, 64)).toBe(64);
    expect(tokenCap({ max_new_tokens: 512 }, 64)).toBe(64);
  });
});

describe('withTokenCap: pulling', () => {
  it('a backend that ignores max_new_tokens is cut at the cap: cap tokens, a capped done, its stream closed', async () => {
    const fake = new FakeBackend('ignores').plan({ tokens: words(1000) });
    const events = await collect(withTokenCap(fake, 4096).generate(request({ max_new_tokens: 5 })));
    expect(events.filter((e) => e.kind === 'token').map((e) => (e.kind === 'token' ? e.text : ''))).toEqual(words(5));
    expect(events).toHaveLength(6);
    expect(events[5]).toEqual(capped(5));
    expect(fake.returns).toBe(1); // return() on the unfinished stream: the adapter closes its request
    expect(fake.active).toBe(0); // and the fake's finally ran before the done event was delivered
  });

  it('without max_new_tokens the ceiling is the cap', async () => {
    const fake = new FakeBackend('ignores').plan({ tokens: words(1000) });
    const events = await collect(withTokenCap(fake, 7).generate(request({})));
    expect(events).toHaveLength(8);
    expect(events.at(-1)).toEqual(capped(7));
    expect(fake.returns).toBe(1);
  });

  it('a backend that honours the limit passes through unchanged (its own done, nothing closed)', async () => {
    const fake = new FakeBackend('honours').plan({ tokens: words(5) });
    const direct = await collect(new FakeBackend('same').plan({ tokens: words(5) }).generate(request({ max_new_tokens: 5 })));
    const events = await collect(withTokenCap(fake, 4096).generate(request({ max_new_tokens: 5 })));
    expect(events).toEqual(direct);
    expect(events.at(-1)).toEqual({ kind: 'done', finish: 'eos_token', generatedText: words(5).join(''), tokens: 5 });
    expect(fake.returns).toBe(0);
  });

  it("a consumer leaving early closes the inner stream; the inner stream's errors pass through", async () => {
    const fake = new FakeBackend('x').plan({ tokens: words(10) }, { tokens: ['a'], fail: new VlpError('UPSTREAM_RESET', 'reset') });
    const backend = withTokenCap(fake, 4096);
    for await (const ev of backend.generate(request({ max_new_tokens: 5 }))) if (ev.kind === 'token') break;
    expect(fake.returns).toBe(1);
    expect(fake.active).toBe(0);
    await expect(collect(backend.generate(request({ max_new_tokens: 5 })))).rejects.toMatchObject({ code: 'UPSTREAM_RESET' });
  });

  it('keeps id, capabilities, probe and close of the inner backend', async () => {
    const fake = new FakeBackend('inner', { vision: true, streaming: true });
    const backend = withTokenCap(fake, 10);
    expect(backend.id).toBe('inner');
    expect(backend.capabilities).toBe(fake.capabilities);
    expect(await backend.probe(100)).toBe(true);
    expect(fake.probes).toBe(1);
    await backend.close();
    expect(fake.closed).toBe(true);
  });
});

describe('withTokenCap: push mode', () => {
  it('is Drainable only while the inner stream is: a generator stream is pulled', () => {
    const pulled = withTokenCap(new FakeBackend('gen'), 10).generate(request({}))[Symbol.asyncIterator]();
    expect(drainableOf(pulled)?.drainTo(() => undefined)).toBeUndefined();
  });

  it("tokens reach the consumer inside the producer's push; token cap + 1 closes the channel and ends with the capped done", async () => {
    const b = new ChannelBackend();
    const got: GenEvent[] = [];
    const consumed = consumeEvents(withTokenCap(b, 4096).generate(request({ max_new_tokens: 3 })), (ev) => got.push(ev));
    const s = b.streams[0]!;
    s.ch.push(token('a'));
    expect(got).toEqual([token('a')]); // synchronously: push mode, no promise per token
    s.ch.push(token('b'));
    s.ch.push(token('c'));
    expect(got).toHaveLength(3);
    s.ch.push(token('d')); // the backend ignored max_new_tokens
    expect(s.returned()).toBe(true); // the upstream request is closed inside that push
    expect(s.ch.closed).toBe(true);
    s.ch.push(token('e'));
    await consumed;
    expect(got).toEqual([token('a'), token('b'), token('c'), capped(3)]);
  });

  it('a backend that honours the limit ends with its own done, pushed', async () => {
    const b = new ChannelBackend();
    const got: GenEvent[] = [];
    const consumed = consumeEvents(withTokenCap(b, 4096).generate(request({ max_new_tokens: 2 })), (ev) => got.push(ev));
    const s = b.streams[0]!;
    const own: GenEvent = { kind: 'done', finish: 'length', generatedText: 'ab', tokens: 2 };
    s.ch.push(token('a'));
    s.ch.push(token('b'));
    s.ch.push(own);
    expect(got).toEqual([token('a'), token('b'), own]);
    s.ch.end();
    await consumed;
    expect(got[2]).toBe(own);
    expect(s.returned()).toBe(false);
  });

  it("a consumer's exception closes the channel and rejects with it; the channel's error rejects as it is", async () => {
    const b = new ChannelBackend();
    const backend = withTokenCap(b, 4096);
    const broken = consumeEvents(backend.generate(request({ max_new_tokens: 9 })), (ev) => {
      if (ev.kind === 'token' && ev.text === 'boom') throw new Error('consumer bug');
    });
    b.streams[0]!.ch.push(token('boom'));
    await expect(broken).rejects.toThrow('consumer bug');
    expect(b.streams[0]!.returned()).toBe(true);
    const failed = consumeEvents(backend.generate(request({ max_new_tokens: 9 })), () => undefined);
    b.streams[1]!.ch.push(token('a'));
    b.streams[1]!.ch.fail(new VlpError('UPSTREAM_RESET', 'reset mid-stream'));
    await expect(failed).rejects.toMatchObject({ code: 'UPSTREAM_RESET' });
  });

  it('pulling then pushing counts every token once', async () => {
    const b = new ChannelBackend();
    const it = withTokenCap(b, 4096).generate(request({ max_new_tokens: 2 }))[Symbol.asyncIterator]() as CappedStream;
    const s = b.streams[0]!;
    s.ch.push(token('a'));
    expect(await it.next()).toEqual({ done: false, value: token('a') });
    const got: GenEvent[] = [];
    const drained = it.drainTo((ev) => got.push(ev));
    expect(drained).toBeDefined();
    s.ch.push(token('b'));
    s.ch.push(token('c'));
    await drained;
    expect(got).toEqual([token('b'), capped(2)]);
    expect(s.returned()).toBe(true);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('through the router: push mode after the first event, the cut closes the replica stream, outstanding returns to 0', async () => {
    const b = new ChannelBackend();
    const router = createRoutedBackend({ id: 'llm', replicas: [b], baseBackoffMs: 0, maxAttempts: 1, log: () => undefined });
    const texts: string[] = [];
    const consumed = consumeEvents(withTokenCap(router, 4096).generate(request({ max_new_tokens: 3 })), (ev) =>
      texts.push(ev.kind === 'token' ? ev.text : `|${ev.finish}:${ev.tokens}`),
    );
    await tick();
    const s = b.streams[0]!;
    s.ch.push(token('a')); // the first event goes through next() and the router's attempt logic
    await tick();
    expect(texts).toEqual(['a']);
    s.ch.push(token('b'));
    expect(texts).toEqual(['a', 'b']); // pushed synchronously through router and cap
    s.ch.push(token('c'));
    s.ch.push(token('d'));
    expect(s.returned()).toBe(true);
    await consumed;
    expect(texts).toEqual(['a', 'b', 'c', '|length:3']);
    // A cut stream was served fine: no failure counted against the replica.
    expect(router.stats().replicas[0]).toMatchObject({ up: true, outstanding: 0 });
    await router.close();
  });

  it('nested caps: the smaller one cuts, either way round', async () => {
    for (const [outer, inner] of [
      [3, 5],
      [5, 3],
    ] as const) {
      const b = new ChannelBackend();
      const got: GenEvent[] = [];
      const consumed = consumeEvents(withTokenCap(withTokenCap(b, inner), outer).generate(request({})), (ev) => got.push(ev));
      const s = b.streams[0]!;
      for (const t of words(6)) s.ch.push(token(t));
      await consumed;
      expect(got).toEqual([...words(3).map(token), capped(3)]);
      expect(s.returned()).toBe(true);
    }
  });
});
