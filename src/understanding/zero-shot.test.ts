// ZeroShotClassifier against the simulated zero-shot endpoint on loopback (real sockets): labels on
// the corpus, score shape, image context, caching, every fault mapped to its UPSTREAM_* code, and
// cancellation closing the upstream request.
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VlpError, type ErrorCode } from '../../protocol/errors.ts';
import { startZeroShotSim, type ZeroShotClosedEvent, type ZeroShotFaultKind, type ZeroShotRequestEvent, type ZeroShotSim } from '../../sim/zero-shot/index.ts';
import { createHfZeroShotClient, parseZeroShotResponse } from '../backends/hf-inference/index.ts';
import { closedPort, startFakeTgi } from '../backends/tgi/fake-tgi.testkit.ts';
import { CORPUS } from './corpus.ts';
import { INTENT_LABELS, LABEL_INFO } from './labels.ts';
import { topLabel } from './rules.ts';
import { ZeroShotClassifier, type ZeroShotClassifierOptions } from './zero-shot.ts';

const FAST = { latency: { baseMs: 1, perLabelMs: 0.1, jitter: 0 } } as const;

let sim: ZeroShotSim;
let classifier: ZeroShotClassifier;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  sim = await startZeroShotSim(FAST);
  classifier = new ZeroShotClassifier({ url: sim.url });
});
afterAll(async () => {
  await classifier.close();
  await sim.close();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function fresh(over: Partial<ZeroShotClassifierOptions> = {}): ZeroShotClassifier {
  const c = new ZeroShotClassifier({ url: sim.url, ...over });
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

describe('ZeroShotClassifier', () => {
  it('labels most of the corpus right against the simulated endpoint', async () => {
    const misses: string[] = [];
    for (const c of CORPUS) {
      const top = topLabel(await classifier.classify(c.text, c));
      if (top !== c.label) misses.push(`"${c.text}" image=${c.hasImage} expected ${c.label} got ${top}`);
    }
    const accuracy = 1 - misses.length / CORPUS.length;
    console.log(`zero-shot (simulated) accuracy ${(accuracy * 100).toFixed(1)}%`);
    for (const m of misses) console.log(`  miss: ${m}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.85);
  });

  it('sends the label descriptions with "The topic is {}." and returns every label once, sorted, summing to at most 1', async () => {
    const seen: ZeroShotRequestEvent[] = [];
    const onRequest = (e: ZeroShotRequestEvent): void => void seen.push(e);
    sim.events.on('request', onRequest);
    try {
      const { labels } = await fresh().classify('cut out the cat', { hasImage: true });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ hypothesisTemplate: 'The topic is {}.', multiLabel: false });
      expect(seen[0]?.candidateLabels).toEqual(INTENT_LABELS.map((l) => LABEL_INFO[l].description));
      expect(labels.map((l) => l.label).sort()).toEqual([...INTENT_LABELS].sort());
      expect(labels[0]?.label).toBe('segment');
      for (let i = 1; i < labels.length; i++) expect(labels[i - 1]!.score).toBeGreaterThanOrEqual(labels[i]!.score);
      expect(labels.reduce((a, l) => a + l.score, 0)).toBeLessThanOrEqual(1);
    } finally {
      sim.events.off('request', onRequest);
    }
  });

  it('down-weights image-only labels without an image, like the rules classifier', async () => {
    const c = fresh();
    const withImage = await c.classify('where is the cup', { hasImage: true });
    const without = await c.classify('where is the cup', { hasImage: false });
    expect(topLabel(withImage)).toBe('detect');
    expect(topLabel(without)).toBe('chat');
    const detect = (r: typeof without): number => r.labels.find((l) => l.label === 'detect')!.score;
    expect(detect(without)).toBeLessThan(detect(withImage));
    // Strong evidence survives the penalty.
    expect(topLabel(await c.classify('segment the dog', { hasImage: false }))).toBe('segment');
  });

  it('caches per text (a repeated partial costs no round trip) and answers an empty text locally', async () => {
    const c = fresh();
    let requests = 0;
    const count = (): void => void requests++;
    sim.events.on('request', count);
    try {
      await c.classify('find all the cars', { hasImage: true });
      await c.classify('find all the cars', { hasImage: false });
      await c.classify('  ', { hasImage: true }).then((r) => expect(topLabel(r)).toBe('chat'));
      expect(requests).toBe(1);
    } finally {
      sim.events.off('request', count);
    }
  });

  it('reads the list-of-{label, score} answer form too', async () => {
    const listSim = await startZeroShotSim({ ...FAST, format: 'list' });
    cleanups.push(() => listSim.close());
    const c = fresh({ url: `${listSim.url}/models/${listSim.modelId}` });
    expect(topLabel(await c.classify('write a caption for this photo', { hasImage: true }))).toBe('caption');
  });

  it('sends the bearer token and the pipeline body', async () => {
    const fake = await startFakeTgi((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sequence: 'x', labels: [LABEL_INFO.chat.description], scores: [0.9] }));
    });
    cleanups.push(() => fake.close());
    const c = fresh({ url: `${fake.url}/predict`, token: 'hf_secret' });
    const r = await c.classify('hello', { hasImage: false });
    expect(topLabel(r)).toBe('chat');
    expect(fake.requests[0]?.path).toBe('/predict');
    expect(fake.requests[0]?.headers.authorization).toBe('Bearer hf_secret');
    expect(JSON.parse(fake.requests[0]?.body ?? '')).toEqual({
      inputs: 'hello',
      parameters: { candidate_labels: INTENT_LABELS.map((l) => LABEL_INFO[l].description), hypothesis_template: 'The topic is {}.', multi_label: false },
    });
  });
});

describe('error mapping', () => {
  const cases: [ZeroShotFaultKind, ErrorCode][] = [
    ['loading_503', 'UPSTREAM_OVERLOADED'],
    ['overloaded_429', 'UPSTREAM_OVERLOADED'],
    ['error_500', 'UPSTREAM_GENERATION_FAILED'],
    ['malformed', 'UPSTREAM_PROTOCOL'],
    ['bad_shape', 'UPSTREAM_PROTOCOL'],
    ['oversize', 'UPSTREAM_PROTOCOL'],
    ['reset', 'UPSTREAM_RESET'],
    ['stall', 'UPSTREAM_TIMEOUT'],
    ['slow', 'UPSTREAM_TIMEOUT'],
  ];
  it.each(cases)('%s → %s (message without the transcript)', async (kind, code) => {
    const slowSim = kind === 'slow' ? await startZeroShotSim({ latency: { baseMs: 30, perLabelMs: 0, jitter: 0 } }) : sim;
    if (slowSim !== sim) cleanups.push(() => slowSim.close());
    const c = fresh({ url: slowSim.url, timeoutMs: 200 });
    slowSim.injectFault(kind);
    const text = `find the secret ${kind}`;
    const err = await expectCode(c.classify(text, { hasImage: true }), code);
    expect(err.message).not.toContain('secret');
    if (kind === 'loading_503') expect(err.retryAfterS).toBe(20);
  });

  it('a 400 (the pipeline rejecting the request) → UPSTREAM_REJECTED', async () => {
    const client = createHfZeroShotClient({ url: sim.url, connectTimeoutMs: 500, timeoutMs: 1000 });
    cleanups.push(() => client.close());
    await expectCode(client.classify({ text: 'x', candidateLabels: [], hypothesisTemplate: 'The topic is {}.' }), 'UPSTREAM_REJECTED');
  });

  it('nothing listening → UPSTREAM_UNAVAILABLE', async () => {
    const c = fresh({ url: `http://127.0.0.1:${await closedPort()}` });
    await expectCode(c.classify('find the cat', { hasImage: true }), 'UPSTREAM_UNAVAILABLE');
  });

  it('rejects answers naming unknown or repeated labels, or scores outside [0, 1]', () => {
    const cands = ['a', 'b'];
    expect(parseZeroShotResponse('[{"sequence":"x","labels":["b","a"],"scores":[0.6,0.4]}]', cands)).toEqual([{ label: 'b', score: 0.6 }, { label: 'a', score: 0.4 }]);
    for (const body of [
      '{"sequence":"x","labels":["c"],"scores":[1.0]}',
      '{"sequence":"x","labels":["a","a"],"scores":[0.5,0.5]}',
      '{"sequence":"x","labels":["a"],"scores":[1.5]}',
      '[{"label":"a","score":-0.1}]',
      '{"error":"x"}',
      '[]',
    ]) {
      expect(() => parseZeroShotResponse(body, cands), body).toThrow(VlpError);
    }
  });
});

describe('cancellation', () => {
  it('aborting the signal rejects with AbortError and closes the upstream request', async () => {
    const c = fresh();
    const closed = once(sim.events, 'request-closed') as Promise<[ZeroShotClosedEvent]>;
    const ac = new AbortController();
    sim.injectFault('stall');
    const pending = c.classify('find the stalled cat', { hasImage: true, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 30));
    const abortedAt = performance.now();
    ac.abort();
    const err = await failure(pending);
    expect((err as Error).name).toBe('AbortError');
    const [ev] = await closed;
    expect(ev.completed).toBe(false);
    expect(ev.atMs - abortedAt).toBeLessThan(100);
  });

  it('an already aborted signal sends nothing', async () => {
    const c = fresh();
    let requests = 0;
    const count = (): void => void requests++;
    sim.events.on('request', count);
    try {
      const ac = new AbortController();
      ac.abort();
      expect(((await failure(c.classify('find the cat again', { hasImage: true, signal: ac.signal }))) as Error).name).toBe('AbortError');
      expect(requests).toBe(0);
    } finally {
      sim.events.off('request', count);
    }
  });
});
