// LlmIntentClassifier against the simulated TGI on loopback (real sockets): the grammar-constrained
// request it sends, labels on the corpus, strict parsing, every fault mapped to its UPSTREAM_* code,
// and cancellation closing the upstream request.
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VlpError, type ErrorCode } from '../../protocol/errors.ts';
import { startTgiSim, type RequestClosedEvent, type RequestEvent, type TgiSim } from '../../sim/tgi/index.ts';
import { closedPort, startFakeTgi } from '../backends/tgi/fake-tgi.testkit.ts';
import { CORPUS } from './corpus.ts';
import { INTENT_LABELS } from './labels.ts';
import { CONFIDENCE_STEPS, intentSchema, LlmIntentClassifier, type LlmClassifierOptions } from './llm-classifier.ts';
import { topLabel } from './rules.ts';

const FAST = { ttftMs: 2, itlMs: 0.2, jitter: 0 } as const;

let sim: TgiSim;
let classifier: LlmIntentClassifier;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  sim = await startTgiSim(FAST);
  classifier = new LlmIntentClassifier({ url: sim.url });
});
afterAll(async () => {
  await classifier.close();
  await sim.close();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function fresh(over: Partial<LlmClassifierOptions> = {}): LlmIntentClassifier {
  const c = new LlmIntentClassifier({ url: sim.url, ...over });
  cleanups.push(() => c.close());
  return c;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<VlpError> {
  const err = await failure(p);
  expect(err).toBeInstanceOf(VlpError);
  expect((err as VlpError).code).toBe(code);
  return err as VlpError;
}

async function captureRequest(run: () => Promise<unknown>): Promise<RequestEvent> {
  const seen: RequestEvent[] = [];
  const on = (e: RequestEvent): void => void seen.push(e);
  sim.events.on('request', on);
  try {
    await run();
  } finally {
    sim.events.off('request', on);
  }
  expect(seen).toHaveLength(1);
  return seen[0] as RequestEvent;
}

describe('LlmIntentClassifier', () => {
  it('labels most of the corpus right against the simulated TGI', async () => {
    const misses: string[] = [];
    // Eight at a time: TGI batches concurrent requests (the answers do not depend on the load).
    for (let i = 0; i < CORPUS.length; i += 8) {
      await Promise.all(
        CORPUS.slice(i, i + 8).map(async (c) => {
          const top = topLabel(await classifier.classify(c.text, c));
          if (top !== c.label) misses.push(`"${c.text}" image=${c.hasImage} expected ${c.label} got ${top}`);
        }),
      );
    }
    const accuracy = 1 - misses.length / CORPUS.length;
    console.log(`llm (simulated) accuracy ${(accuracy * 100).toFixed(1)}%`);
    for (const m of misses) console.log(`  miss: ${m}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.85);
  });

  it('sends a greedy, grammar-constrained /generate with the labels in a Llama-2 prompt', async () => {
    const c = fresh();
    const req = await captureRequest(() => c.classify('outline the red car', { hasImage: false }));
    expect(req.route).toBe('/generate');
    expect(req.params).toMatchObject({ max_new_tokens: 32, do_sample: false, temperature: null, return_full_text: false, details: true });
    expect(req.params.grammar).toEqual({ type: 'json', value: intentSchema(INTENT_LABELS) });
    const prompt = c.prompt('outline the red car', false);
    expect(prompt.startsWith('[INST] <<SYS>>\n')).toBe(true);
    expect(prompt.endsWith('outline the red car [/INST]')).toBe(true);
    expect(prompt).toContain('- segment (needs an image): cut out or outline objects pixel-accurately');
    expect(prompt).toContain('- chat: plain dialogue with no image task');
    expect(prompt).toContain('The session has no image');
    expect(c.prompt('x', true)).toContain('The session has an image');
  });

  it('returns the chosen label with its confidence, the rest spread, image context applied', async () => {
    const c = fresh();
    const r = await c.classify('segment the dog in this picture', { hasImage: true });
    expect(topLabel(r)).toBe('segment');
    expect(r.labels.map((l) => l.label).sort()).toEqual([...INTENT_LABELS].sort());
    expect(r.labels.reduce((a, l) => a + l.score, 0)).toBeLessThanOrEqual(1);
    expect(CONFIDENCE_STEPS).toContain(Math.round(r.labels[0]!.score * 100) / 100);
    const others = r.labels.slice(1).map((l) => l.score);
    expect(Math.max(...others) - Math.min(...others)).toBeLessThan(0.001);
    expect(topLabel(await c.classify('where is Paris', { hasImage: false }))).toBe('chat');
  });

  it('regex mode asks for the bare label and gives it regexConfidence', async () => {
    const c = fresh({ mode: 'regex', regexConfidence: 0.7 });
    const req = await captureRequest(async () => {
      const r = await c.classify('write a caption for this photo', { hasImage: true });
      expect(r.labels[0]).toEqual({ label: 'caption', score: expect.closeTo(0.7, 3) as unknown as number });
    });
    expect(req.params.grammar).toEqual({ type: 'regex', value: `(${INTENT_LABELS.join('|')})` });
  });

  it('caches per (text, image)', async () => {
    const c = fresh();
    let requests = 0;
    const count = (): void => void requests++;
    sim.events.on('request', count);
    try {
      await c.classify('find all the cars', { hasImage: true });
      await c.classify('find all the cars', { hasImage: true });
      await c.classify('find all the cars', { hasImage: false });
      expect(requests).toBe(2);
    } finally {
      sim.events.off('request', count);
    }
  });

  it('parses strictly', () => {
    const c = fresh();
    expect(c.parse(' {"label": "vqa", "confidence": 0.5}\n')).toEqual({ label: 'vqa', confidence: 0.5 });
    for (const bad of [
      'vqa',
      '{"label": "vqa"}',
      '{"label": "vqa", "confidence": 0.5, "why": "x"}',
      '{"label": "weather", "confidence": 0.5}',
      '{"label": "vqa", "confidence": 1.5}',
      '{"label": "vqa", "confidence": "high"}',
      '[{"label": "vqa", "confidence": 0.5}]',
      '{"label": "vqa", "confidence": 0.5',
    ]) {
      expect(() => c.parse(bad), bad).toThrow(VlpError);
    }
    expect(() => fresh({ mode: 'regex' }).parse('weather')).toThrow(VlpError);
  });
});

describe('error mapping', () => {
  const faults: [string, ErrorCode][] = [
    ['validation', 'UPSTREAM_REJECTED'],
    ['overloaded_429', 'UPSTREAM_OVERLOADED'],
    ['unavailable_503', 'UPSTREAM_OVERLOADED'],
    ['error_mid_stream', 'UPSTREAM_GENERATION_FAILED'],
    ['incomplete', 'UPSTREAM_GENERATION_FAILED'],
    ['malformed', 'UPSTREAM_PROTOCOL'],
    ['reset', 'UPSTREAM_RESET'],
    ['stall', 'UPSTREAM_TIMEOUT'],
  ];
  it.each(faults)('TGI fault %s → %s', async (kind, code) => {
    const c = fresh({ timeoutMs: 300 });
    await expectCode(c.classify(`find the cat [[sim:fault=${kind}]]`, { hasImage: true }), code);
  });

  it('TGI without grammar support (--disable-grammar-support) → UPSTREAM_REJECTED', async () => {
    const off = await startTgiSim({ ...FAST, disableGrammarSupport: true });
    cleanups.push(() => off.close());
    const err = await expectCode(fresh({ url: off.url }).classify('find the cat', { hasImage: true }), 'UPSTREAM_REJECTED');
    expect(err.message).toContain('grammar is not supported');
  });

  it('an answer cut at max_new_tokens → UPSTREAM_PROTOCOL', async () => {
    await expectCode(fresh({ maxNewTokens: 5 }).classify('find the cat', { hasImage: true }), 'UPSTREAM_PROTOCOL');
  });

  it('a TGI that ignores grammar (before v1.4.1) answers prose → UPSTREAM_PROTOCOL, without echoing it', async () => {
    const fake = await startFakeTgi((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ generated_text: ' Sure! The user secret wants to find the cat.', details: { finish_reason: 'eos_token', generated_tokens: 12 } }));
    });
    cleanups.push(() => fake.close());
    const err = await expectCode(fresh({ url: fake.url }).classify('find the cat', { hasImage: true }), 'UPSTREAM_PROTOCOL');
    expect(err.message).not.toContain('secret');
    expect(fake.requests[0]?.path).toBe('/generate');
  });

  it('an oversized answer → UPSTREAM_PROTOCOL; nothing listening → UPSTREAM_UNAVAILABLE', async () => {
    const fake = await startFakeTgi((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ generated_text: 'x'.repeat(200_000) }));
    });
    cleanups.push(() => fake.close());
    await expectCode(fresh({ url: fake.url }).classify('find the cat', { hasImage: true }), 'UPSTREAM_PROTOCOL');
    await expectCode(fresh({ url: `http://127.0.0.1:${await closedPort()}` }).classify('find the cat', { hasImage: true }), 'UPSTREAM_UNAVAILABLE');
  });
});

describe('cancellation', () => {
  it('aborting the signal rejects with AbortError and closes the upstream request', async () => {
    const c = fresh();
    const closed = once(sim.events, 'request-closed') as Promise<[RequestClosedEvent]>;
    const ac = new AbortController();
    const pending = c.classify('find the cat [[sim:fault=stall]]', { hasImage: true, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 30));
    const abortedAt = performance.now();
    ac.abort();
    expect(((await failure(pending)) as Error).name).toBe('AbortError');
    const [ev] = await closed;
    expect(ev.completed).toBe(false);
    expect(ev.atMs - abortedAt).toBeLessThan(100);
  });
});
