// The simulated zero-shot-classification server over real sockets: both answer forms, the
// pipeline's sorting and validation texts, the loading/rate-limit/error faults, latency and queueing.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startZeroShotSim, type ZeroShotClosedEvent, type ZeroShotRequestEvent, type ZeroShotSim } from './index.ts';

const LABELS = [
  'find, locate, count or box objects in the image',
  'cut out or outline objects pixel-accurately',
  'answer a question about the image',
  'plain dialogue with no image task',
];
const FAST = { latency: { baseMs: 1, perLabelMs: 0, jitter: 0 } } as const;

async function post(url: string, body: unknown, path = '/'): Promise<{ status: number; type: string; text: string }> {
  const res = await request(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

const ask = (inputs: unknown, extra: Record<string, unknown> = {}): unknown => ({
  inputs,
  parameters: { candidate_labels: LABELS, hypothesis_template: 'The topic is {}.', multi_label: false, ...extra },
});

let sim: ZeroShotSim;
beforeAll(async () => {
  sim = await startZeroShotSim(FAST);
});
afterAll(async () => {
  await sim.close();
});

describe('answers', () => {
  it('returns {sequence, labels, scores} sorted descending, scores summing to 1', async () => {
    const res = await post(sim.url, ask('segment the dog in this picture'));
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/json');
    const body = JSON.parse(res.text) as { sequence: string; labels: string[]; scores: number[] };
    expect(Object.keys(body)).toEqual(['sequence', 'labels', 'scores']);
    expect(body.sequence).toBe('segment the dog in this picture');
    expect([...body.labels].sort()).toEqual([...LABELS].sort());
    expect(body.labels[0]).toBe(LABELS[1]);
    for (let i = 1; i < body.scores.length; i++) expect(body.scores[i - 1]).toBeGreaterThanOrEqual(body.scores[i] as number);
    expect(body.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // float32 values, as the pipeline's numpy `.tolist()` gives them
    for (const s of body.scores) expect(Math.fround(s)).toBe(s);
  });

  it('is deterministic and picks sensible labels', async () => {
    const top = async (text: string): Promise<string> => (JSON.parse((await post(sim.url, ask(text))).text) as { labels: string[] }).labels[0] as string;
    expect(await top('where are my keys')).toBe(LABELS[0]);
    expect(await top('what colour is the car?')).toBe(LABELS[2]);
    expect(await top('tell me a joke')).toBe(LABELS[3]);
    expect(await top('tell me a joke')).toBe(await top('tell me a joke'));
  });

  it('answers a list of sequences with a list, accepts comma-separated labels, /predict and /models/<id>', async () => {
    const list = JSON.parse((await post(sim.url, ask(['find the cat', 'hello there']))).text) as { sequence: string }[];
    expect(list.map((r) => r.sequence)).toEqual(['find the cat', 'hello there']);
    const comma = JSON.parse((await post(sim.url, { inputs: 'find the cat', parameters: { candidate_labels: 'detect objects, chat' } })).text) as { labels: string[] };
    expect(comma.labels).toEqual(['detect objects', 'chat']);
    expect((await post(sim.url, ask('x'), '/predict')).status).toBe(200);
    expect((await post(sim.url, ask('x'), `/models/${sim.modelId}`)).status).toBe(200);
  });

  it('scores labels independently with multi_label', async () => {
    const body = JSON.parse((await post(sim.url, ask('find and outline the dog', { multi_label: true }))).text) as { scores: number[] };
    expect(body.scores.reduce((a, b) => a + b, 0)).toBeGreaterThan(1);
  });

  it('speaks the list-of-{label, score} form when asked to', async () => {
    const listSim = await startZeroShotSim({ ...FAST, format: 'list' });
    try {
      const body = JSON.parse((await post(listSim.url, ask('find the cat'))).text) as { label: string; score: number }[];
      expect(body).toHaveLength(4);
      expect(Object.keys(body[0] ?? {})).toEqual(['label', 'score']);
      expect(body[0]?.label).toBe(LABELS[0]);
    } finally {
      await listSim.close();
    }
  });

  it('serves health on GET / and /health, 405 and 404 elsewhere', async () => {
    const health = await request(`${sim.url}/health`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.text()).toBe('Ok');
    expect((await request(`${sim.url}/predict`)).statusCode).toBe(405);
    expect((await request(`${sim.url}/nope`)).statusCode).toBe(404);
  });
});

describe('errors (HTTP 400 {"error": str(e)} as the toolkit answers exceptions)', () => {
  it.each([
    [{ parameters: { candidate_labels: LABELS } }, 'Body needs to provide a inputs key, recieved: b\'{"parameters":{"candidate_labels":'],
    [{ inputs: 'x' }, "object of type 'NoneType' has no len()"],
    [{ inputs: 'x', parameters: { candidate_labels: [] } }, 'You must include at least one label and at least one sequence.'],
    [{ inputs: '', parameters: { candidate_labels: LABELS } }, 'You must include at least one label and at least one sequence.'],
    [{ inputs: 'x', parameters: { candidate_labels: LABELS, hypothesis_template: 'The topic is' } }, 'The provided hypothesis_template "The topic is" was not able to be formatted with the target labels.'],
  ])('%j', async (body, start) => {
    const res = await post(sim.url, body);
    expect(res.status).toBe(400);
    expect((JSON.parse(res.text) as { error: string }).error.startsWith(start)).toBe(true);
  });

  it('answers invalid JSON with 400', async () => {
    expect((await post(sim.url, '{"inputs":')).status).toBe(400);
  });
});

describe('faults', () => {
  it('answers 503 loading with estimated_time (directive, queue and cold start)', async () => {
    const res = await post(sim.url, ask('[[sim:fault=loading_503]] find the cat'));
    expect(res.status).toBe(503);
    expect(res.text).toBe(`{"error":"Model ${sim.modelId} is currently loading","estimated_time":20.0}`);
    sim.injectFault('loading_503', 1);
    expect((await post(sim.url, ask('find the cat'))).status).toBe(503);
    expect((await post(sim.url, ask('find the cat'))).status).toBe(200);
    const cold = await startZeroShotSim({ ...FAST, loadingMs: 60_000, estimatedTimeS: 7.5 });
    try {
      expect((await post(cold.url, ask('x'))).text).toBe(`{"error":"Model ${cold.modelId} is currently loading","estimated_time":7.5}`);
    } finally {
      await cold.close();
    }
  });

  it.each([
    ['overloaded_429', 429],
    ['error_500', 500],
  ] as const)('%s → HTTP %i with an error body', async (kind, status) => {
    sim.injectFault(kind);
    const res = await post(sim.url, ask('find the cat'));
    expect(res.status).toBe(status);
    expect(typeof (JSON.parse(res.text) as { error: unknown }).error).toBe('string');
  });

  it('malformed, bad_shape and oversize answer 200 with unusable bodies', async () => {
    sim.injectFault('malformed');
    const malformed = await post(sim.url, ask('find the cat'));
    expect(() => JSON.parse(malformed.text)).toThrow();
    sim.injectFault('bad_shape');
    const shape = JSON.parse((await post(sim.url, ask('find the cat'))).text) as { labels: unknown[]; scores: unknown[] };
    expect(shape.labels.length).not.toBe(shape.scores.length);
    sim.injectFault('oversize');
    expect((await post(sim.url, ask('find the cat'))).text.length).toBeGreaterThan(4_000_000);
  });

  it('reset destroys the socket; a client leaving a stalled request is seen as closed', async () => {
    sim.injectFault('reset');
    await expect(post(sim.url, ask('find the cat'))).rejects.toThrow();
    const seen = once(sim.events, 'request-closed') as Promise<[ZeroShotClosedEvent]>;
    const ac = new AbortController();
    const pending = request(sim.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ask('[[sim:fault=stall]] x')), signal: ac.signal });
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    await expect(pending).rejects.toThrow();
    const [closed] = await seen;
    expect(closed.completed).toBe(false);
  });
});

describe('latency', () => {
  it('costs base + per-label time and queues behind one worker', async () => {
    const slow = await startZeroShotSim({ latency: { baseMs: 10, perLabelMs: 5, jitter: 0 } });
    const reqs: ZeroShotRequestEvent[] = [];
    slow.events.on('request', (e) => reqs.push(e));
    try {
      const t0 = performance.now();
      await post(slow.url, ask('find the cat'));
      const one = performance.now() - t0;
      expect(one).toBeGreaterThanOrEqual(29);
      const t1 = performance.now();
      await Promise.all([post(slow.url, ask('a')), post(slow.url, ask('b')), post(slow.url, ask('c'))]);
      expect(performance.now() - t1).toBeGreaterThanOrEqual(3 * 29);
      expect(reqs.map((r) => r.candidateLabels.length)).toEqual([4, 4, 4, 4]);
      expect(reqs[0]?.hypothesisTemplate).toBe('The topic is {}.');
    } finally {
      await slow.close();
    }
  });
});
