// The token cap holds for every consumer of the generation port, not only dialogue turns: the
// model registry builds each model's backend behind it (src/backends/token-cap.ts). Against a fake
// TGI that ignores max_new_tokens, over loopback HTTP through the real adapter and router: the
// planner's LangChain model and the background image description get at most the cap and the
// upstream request is closed early; the registry's streams still offer push mode.
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema, type Config } from '../src/config/schema.ts';
import { Gateway } from '../src/gateway.ts';
import { ModelRegistry } from '../src/models.ts';
import type { GenEvent, TextGenBackend } from '../src/backends/ports.ts';
import { drainableOf } from '../src/backends/push-drain.ts';
import { TextGenChatModel } from '../src/planning/langchain-llm.ts';
import { RawClient } from './harness.ts';
import { startFakeUpstream, UPSTREAM_TOKENS, type FakeRequest, type FakeUpstream } from './ignoring-upstream.ts';

/** limits.maxNewTokens of the gateway under test. */
const CEILING = 64;
/** The image description's max_new_tokens (session-vision.ts). */
const DESCRIBE_TOKENS = 48;

let fake: FakeUpstream;
let config: Config;
let registry: ModelRegistry;
let llm: TextGenBackend;

beforeAll(async () => {
  fake = await startFakeUpstream();
  config = ConfigSchema.parse({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    limits: { maxNewTokens: CEILING },
    images: { describe: true },
    models: [
      { id: 'fake-llm', kind: 'llm', backend: 'tgi', urls: [fake.url], template: 'llama2-chat', params: {} },
      { id: 'fake-vlm', kind: 'vlm', backend: 'tgi', urls: [fake.url], template: 'idefics', params: {} },
    ],
    defaultModel: 'fake-llm',
    defaultVisionModel: 'fake-vlm',
  });
  registry = new ModelRegistry(config, pino({ level: 'silent' }));
  const entry = registry.get('fake-llm');
  if (entry === undefined) throw new Error('model missing');
  llm = entry.backend;
});

afterAll(async () => {
  await registry.close();
  await fake.close();
});

const words = (n: number): string => Array.from({ length: n }, (_, i) => ` w${i}`).join('');

/** The fake's request made by `run`, once it closed. */
async function requestOf(run: () => Promise<void>): Promise<FakeRequest> {
  const mark = fake.requests.length;
  await run();
  const req = fake.requests[mark];
  if (req === undefined) throw new Error('no upstream request');
  await req.closed;
  return req;
}

describe('planner LLM (LangChain over the port)', () => {
  it('streams max_new_tokens chunks, then finish_reason length; the upstream request is closed early', async () => {
    const model = new TextGenChatModel({ backend: llm, maxNewTokens: 20 });
    const chunks: { text: string; finish?: unknown; tokens?: unknown }[] = [];
    const req = await requestOf(async () => {
      for await (const c of await model.stream('Plan a very long trip.')) {
        const meta = c.response_metadata as Record<string, unknown>;
        chunks.push({ text: c.text, finish: meta.finish_reason, tokens: meta.generated_tokens });
      }
    });
    expect(chunks.map((c) => c.text).join('')).toBe(words(20));
    expect(chunks.filter((c) => c.text !== '')).toHaveLength(20);
    expect(chunks.at(-1)).toMatchObject({ text: '', finish: 'length', tokens: 20 });
    expect((req.body.parameters as Record<string, unknown>).max_new_tokens).toBe(20);
    expect(req.completed).toBe(false);
    expect(req.written).toBeLessThan(UPSTREAM_TOKENS);
  });

  it('invoke() accumulates at most the ceiling when no max_new_tokens is set', async () => {
    const model = new TextGenChatModel({ backend: llm });
    let text = '';
    const req = await requestOf(async () => {
      const msg = await model.invoke('Plan a very long trip.');
      text = msg.text;
    });
    expect(text).toBe(words(CEILING));
    expect((req.body.parameters as Record<string, unknown>).max_new_tokens).toBeUndefined();
    expect(req.completed).toBe(false);
  });
});

describe('push mode through the registry (adapter, router, cap)', () => {
  it('after the first event the stream drains by push and ends with the capped done', async () => {
    const events: GenEvent[] = [];
    const req = await requestOf(async () => {
      const it = llm.generate({ messages: [{ role: 'user', content: 'Tell me a long story.' }], params: { max_new_tokens: 10 }, signal: new AbortController().signal })[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done === true) throw new Error('no first event');
      events.push(first.value);
      const drained = drainableOf(it)?.drainTo((ev) => events.push(ev));
      expect(drained).toBeInstanceOf(Promise);
      await drained;
    });
    expect(events.filter((e) => e.kind === 'token')).toHaveLength(10);
    expect(events.at(-1)).toEqual({ kind: 'done', finish: 'length', generatedText: '', tokens: 10, capped: true });
    expect(req.completed).toBe(false);
  });
});

describe('background image description', () => {
  it('is cut at its 48 tokens (kept as the description), and the upstream request is closed early', async () => {
    const gw = new Gateway(config, pino({ level: 'silent' }), { defaultMetrics: false });
    const url = `ws://127.0.0.1:${await gw.start()}/v1/ws`;
    try {
      const mark = fake.requests.length;
      const c = await RawClient.session(url);
      const data = new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: 'red' } }).png().toBuffer());
      c.send({ t: 'image.put', id: 'a', data });
      const session = [...gw.sessions.values()][0];
      expect(session).toBeDefined();
      await expect.poll(() => session?.imageDescription('a'), { timeout: 5000 }).toBe(words(DESCRIBE_TOKENS).trim());
      const req = fake.requests[mark] as FakeRequest;
      expect((req.body.parameters as Record<string, unknown>).max_new_tokens).toBe(DESCRIBE_TOKENS);
      await req.closed;
      expect(req.completed).toBe(false);
      expect(req.written).toBeLessThan(UPSTREAM_TOKENS);
      c.close();
    } finally {
      await gw.shutdown(0);
    }
  });
});
