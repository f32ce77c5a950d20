// The OpenAI-compatible adapter against the simulated TGI's Messages API (v3.3.7 wire format, and
// v2.0 with legacyFraming): full streams, determinism, stopping, every fault kind's code, and the
// upstream close on cancellation. Tests may start the simulator; the adapter reaches it by URL.
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { request as httpRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { startTgiSim } from '../../../sim/tgi/index.ts';
import type { RequestClosedEvent, RequestEvent, TgiSim } from '../../../sim/tgi/index.ts';
import type { ChatMessage, GenEvent, TextGenRequest } from '../ports.ts';
import { backendFor, collect, expectVlp } from './setup.testkit.ts';

const FAST = { ttftMs: 5, itlMs: 2, jitter: 0 } as const;

let sim: TgiSim;
beforeAll(async () => {
  sim = await startTgiSim(FAST);
});
afterAll(async () => {
  await sim.close();
});

const ask = (text: string, over: Partial<TextGenRequest> = {}): TextGenRequest => ({
  messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: text }],
  params: {},
  signal: new AbortController().signal,
  ...over,
});

const tokenTexts = (events: readonly GenEvent[]): string[] => events.flatMap((e) => (e.kind === 'token' ? [e.text] : []));

async function lastRequest<T>(s: TgiSim, run: () => Promise<T>): Promise<{ result: T; seen: RequestEvent }> {
  const seen: RequestEvent[] = [];
  const on = (e: RequestEvent): void => {
    seen.push(e);
  };
  s.events.on('request', on);
  try {
    const result = await run();
    return { result, seen: seen.at(-1) as RequestEvent };
  } finally {
    s.events.off('request', on);
  }
}

describe('OpenAI adapter ↔ simulated TGI Messages API', () => {
  it('streams a full answer whose tokens concatenate to the final text, greedy by default', async () => {
    const backend = backendFor(sim.url);
    const { result, seen } = await lastRequest(sim, () => collect(backend.generate(ask('What is the capital of France?'))));
    const { events, error } = result;
    expect(error).toBeUndefined();
    const done = events.at(-1);
    expect(done?.kind).toBe('done');
    if (done?.kind !== 'done') return;
    expect(done.finish).toBe('eos_token');
    expect(done.generatedText).toBe(tokenTexts(events).join(''));
    expect(done.generatedText).toContain('France');
    // usage.completion_tokens counts the EOS token, which streams as empty content.
    expect(done.tokens).toBe(tokenTexts(events).length + 1);
    expect(seen.templatedText).toBe('<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWhat is the capital of France? [/INST]');
    expect(seen.params).toMatchObject({ do_sample: false, temperature: null, details: true });
  });

  it('is deterministic for a seed when sampling, and greedy answers repeat without one', async () => {
    const backend = backendFor(sim.url);
    const run = async (params: TextGenRequest['params']): Promise<GenEvent[]> => (await collect(backend.generate(ask('Tell me about owls', { params })))).events;
    const a = await run({ seed: 7, temperature: 0.8 });
    expect(await run({ seed: 7, temperature: 0.8 })).toEqual(a);
    expect(await run({ seed: 8, temperature: 0.8 })).not.toEqual(a);
    expect(await run({})).toEqual(await run({}));
  });

  it('max_new_tokens → finish length', async () => {
    const { events } = await collect(backendFor(sim.url).generate(ask('Tell me about owls', { params: { max_new_tokens: 5 } })));
    expect(events.at(-1)).toMatchObject({ kind: 'done', finish: 'length', tokens: 5 });
    expect(tokenTexts(events)).toHaveLength(5);
  });

  it('a stop sequence → finish stop_sequence, stop kept in the stream, stripped from the final text', async () => {
    const backend = backendFor(sim.url);
    const full = tokenTexts((await collect(backend.generate(ask('Tell me about owls')))).events);
    const stop = full[3] as string;
    const { events } = await collect(backend.generate(ask('Tell me about owls', { params: { stop: [stop] } })));
    const firstAt = full.indexOf(stop);
    expect(tokenTexts(events)).toEqual(full.slice(0, firstAt + 1));
    expect(events.at(-1)).toMatchObject({ finish: 'stop_sequence', generatedText: full.slice(0, firstAt).join('') });
  });

  it.each<[string, ErrorCode, number]>([
    ['error_mid_stream;after=2', 'UPSTREAM_GENERATION_FAILED', 2],
    ['error_mid_stream;after=0', 'UPSTREAM_GENERATION_FAILED', 0],
    ['incomplete;after=1', 'UPSTREAM_GENERATION_FAILED', 1],
    ['validation', 'UPSTREAM_REJECTED', 0],
    ['overloaded_429', 'UPSTREAM_OVERLOADED', 0],
    ['unavailable_503', 'UPSTREAM_OVERLOADED', 0],
    ['reset;after=2', 'UPSTREAM_RESET', 2],
    ['stall;after=2', 'UPSTREAM_TIMEOUT', 2],
    ['malformed;after=1', 'UPSTREAM_PROTOCOL', 1],
    ['slow_first_token', 'UPSTREAM_TIMEOUT', 0],
  ])('fault %s → %s', async (directive, code, tokensBefore) => {
    const backend = backendFor(sim.url, { firstTokenTimeoutMs: 60, interTokenTimeoutMs: 150 });
    const { events, error } = await collect(backend.generate(ask(`Tell me about owls [[sim:fault=${directive}]]`)));
    expect(events).toHaveLength(tokensBefore);
    const e = expectVlp(error, code);
    if (directive === 'overloaded_429') expect(e.retryAfterS).toBe(1);
    if (directive === 'unavailable_503') expect(e.retryAfterS).toBe(2);
  });

  it('a fault queued through the admin route, and genuine overload reported in-band', async () => {
    await httpRequest(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ kind: 'reset', afterTokens: 1 }) }).then((r) => r.body.dump());
    const { events, error } = await collect(backendFor(sim.url).generate(ask('Tell me about owls')));
    expect(events).toHaveLength(1);
    expectVlp(error, 'UPSTREAM_RESET');
    const full = await startTgiSim({ ...FAST, maxConcurrent: 0 });
    try {
      expectVlp((await collect(backendFor(full.url).generate(ask('hi')))).error, 'UPSTREAM_OVERLOADED');
    } finally {
      await full.close();
    }
  });

  it('a template error (roles not alternating) → UPSTREAM_REJECTED with TGI’s message', async () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }];
    const e = expectVlp((await collect(backendFor(sim.url).generate(ask('', { messages })))).error, 'UPSTREAM_REJECTED');
    expect(e.message).toContain('Conversation roles must alternate');
  });

  it('breaking out of the stream closes the upstream request within 50 ms', async () => {
    const slow = await startTgiSim({ ttftMs: 5, itlMs: 20, jitter: 0 });
    try {
      const closed = once(slow.events, 'request-closed') as Promise<[RequestClosedEvent]>;
      let brokeAt = 0;
      let n = 0;
      for await (const _ of backendFor(slow.url).generate(ask('Tell me about owls'))) {
        if (++n === 2) {
          brokeAt = performance.now();
          break;
        }
      }
      const [ev] = await closed;
      expect(ev.completed).toBe(false);
      expect(ev.atMs - brokeAt).toBeLessThan(50);
    } finally {
      await slow.close();
    }
  });

  it('probes /health', async () => {
    expect(await backendFor(sim.url).probe(500)).toBe(true);
  });
});

describe('OpenAI adapter ↔ simulated TGI v2.0 (legacyFraming) and IDEFICS', () => {
  it('reads `data:{...}` text_completion chunks with no [DONE], EOS text marked special', async () => {
    const legacy = await startTgiSim({ ...FAST, legacyFraming: true });
    try {
      const { events, error } = await collect(backendFor(legacy.url).generate(ask('What is the capital of France?')));
      expect(error).toBeUndefined();
      const tokens = events.filter((e) => e.kind === 'token');
      expect(tokens.at(-1)).toEqual({ kind: 'token', id: -1, text: '</s>', special: true });
      expect(events.at(-1)).toEqual({
        kind: 'done', finish: 'eos_token', tokens: tokens.length,
        generatedText: tokens.flatMap((t) => (t.special ? [] : [t.text])).join(''),
      });
    } finally {
      await legacy.close();
    }
  });

  it('sends an image to the vlm: `![](url)` in the IDEFICS template, stop on <end_of_utterance>', async () => {
    const vlm = await startTgiSim({ ...FAST, kind: 'vlm' });
    try {
      const backend = backendFor(vlm.url, { vision: true });
      const messages: ChatMessage[] = [{ role: 'user', content: 'What is in this picture?', images: ['https://img.test/cat.png'] }];
      const { result, seen } = await lastRequest(vlm, () =>
        collect(backend.generate(ask('', { messages, params: { stop: ['<end_of_utterance>'] } }))),
      );
      expect(result.error).toBeUndefined();
      expect(seen.templatedText).toBe('User:![](https://img.test/cat.png)What is in this picture?<end_of_utterance>\nAssistant:');
      const done = result.events.at(-1);
      expect(done).toMatchObject({ kind: 'done', finish: 'stop_sequence' });
      expect(done?.kind === 'done' && done.generatedText).toBe(tokenTexts(result.events).join(''));
      expect(tokenTexts(result.events).join('')).not.toContain('User:');
    } finally {
      await vlm.close();
    }
  });
});
