// Contract tests of the simulated Grounded-SAM service over real loopback sockets: NDJSON shapes,
// order, thresholds, determinism, faults and validation errors.
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGroundedSamSim, type GroundedSamSim } from './index.ts';

let sim: GroundedSamSim;
let png: Buffer;
let jpeg: Buffer;

beforeAll(async () => {
  sim = await startGroundedSamSim({ detectMs: 5, perMaskMs: 2, jitter: 0 });
  png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#36c' } }).png().toBuffer();
  jpeg = await sharp({ create: { width: 320, height: 200, channels: 3, background: '#a52' } }).jpeg().toBuffer();
});
afterAll(() => sim.close());

type Line = Record<string, unknown>;

async function post(body: unknown): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const res = await request(`${sim.url}/detect_segment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function run(prompt: string, extra: Record<string, unknown> = {}, image: Buffer = png): Promise<Line[]> {
  const r = await post({ image: image.toString('base64'), text_prompt: prompt, box_threshold: 0.5, text_threshold: 0.55, ...extra });
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('application/x-ndjson');
  expect(r.text.endsWith('\n')).toBe(true);
  return r.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
}

describe('POST /detect_segment', () => {
  it('streams boxes, one mask per box in id order, then done; shapes follow the contract', async () => {
    const lines = await run('dog . cat . person .', {}, jpeg);
    const [first, ...rest] = lines;
    expect(first?.type).toBe('boxes');
    expect(first?.size).toEqual([200, 320]);
    const boxes = first?.boxes as { id: number; label: string; score: number; box: number[] }[];
    expect(boxes.length).toBeGreaterThanOrEqual(3);
    expect(new Set(boxes.map((b) => b.label))).toEqual(new Set(['dog', 'cat', 'person']));
    boxes.forEach((b, i) => {
      expect(b.id).toBe(i);
      expect(b.score).toBeGreaterThan(0.5);
      expect(b.score).toBeLessThanOrEqual(1);
      const [x0, y0, x1, y1] = b.box as [number, number, number, number];
      expect(0 <= x0 && x0 < x1 && x1 <= 320 && 0 <= y0 && y0 < y1 && y1 <= 200).toBe(true);
    });
    for (let i = 1; i < boxes.length; i++) expect(boxes[i - 1]!.score).toBeGreaterThanOrEqual(boxes[i]!.score);
    const masks = rest.slice(0, -1);
    expect(masks.map((m) => m.id)).toEqual(boxes.map((b) => b.id));
    for (const m of masks) {
      expect(m.type).toBe('mask');
      const box = boxes[m.id as number]!;
      expect(m.label).toBe(box.label);
      expect(m.score).toBe(box.score);
      const rle = m.rle as { size: number[]; counts: string };
      expect(rle.size).toEqual([200, 320]);
      expect(rle.counts).toMatch(/^[0-o]+$/);
    }
    expect(rest.at(-1)).toEqual({ type: 'done', boxes: boxes.length, masks: boxes.length });
  });

  it('is deterministic for the same image and prompt, and depends on the image', async () => {
    const a = await run('dog . car . bicycle');
    const b = await run('dog . car . bicycle');
    expect(a).toEqual(b);
    const c = await run('dog . car . bicycle', {}, jpeg);
    expect((c[0]?.boxes as unknown[]).length > 0).toBe(true);
    expect(JSON.stringify(c[0])).not.toBe(JSON.stringify(a[0]));
  });

  it('drops boxes with score <= box_threshold; a higher threshold keeps a subset', async () => {
    const phrases = 'bicycle . tree . lamp . chair . bottle';
    const low = (await run(phrases, { box_threshold: 0.05 }))[0]?.boxes as { score: number; box: number[] }[];
    const high = (await run(phrases, { box_threshold: 0.7 }))[0]?.boxes as { score: number; box: number[] }[];
    expect(low.length).toBeGreaterThan(high.length);
    for (const b of high) {
      expect(b.score).toBeGreaterThan(0.7);
      expect(low.some((l) => JSON.stringify(l.box) === JSON.stringify(b.box))).toBe(true);
    }
  });

  it('always finds dog/cat/person/car, even above their usual score', async () => {
    for (const word of ['dog', 'cat', 'person', 'car']) {
      const boxes = (await run(word, { box_threshold: 0.95 }))[0]?.boxes as { label: string; score: number }[];
      expect(boxes.length).toBeGreaterThanOrEqual(1);
      expect(boxes[0]?.score).toBeGreaterThan(0.95);
    }
  });

  it('answers a zero-box phrase with boxes [] and done 0/0', async () => {
    expect(await run('nothing . unicorn')).toEqual([
      { type: 'boxes', size: [48, 64], boxes: [] },
      { type: 'done', boxes: 0, masks: 0 },
    ]);
  });

  it('caps instances at max_instances', async () => {
    const lines = await run('dog . cat . person . car', { box_threshold: 0.01, max_instances: 2 });
    expect((lines[0]?.boxes as unknown[]).length).toBe(2);
    expect(lines.at(-1)).toEqual({ type: 'done', boxes: 2, masks: 2 });
  });

  it('paces boxes after detectMs and masks every perMaskMs', async () => {
    const slow = await startGroundedSamSim({ detectMs: 60, perMaskMs: 30, jitter: 0 });
    try {
      const t0 = performance.now();
      const res = await request(`${slow.url}/detect_segment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: png.toString('base64'), text_prompt: 'dog . cat', box_threshold: 0.5, text_threshold: 0.55 }),
      });
      const times: number[] = [];
      let buf = '';
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString();
        while (buf.includes('\n')) {
          buf = buf.slice(buf.indexOf('\n') + 1);
          times.push(performance.now() - t0);
        }
      }
      expect(times[0]).toBeGreaterThanOrEqual(55);
      expect(times.length).toBeGreaterThanOrEqual(4); // boxes, ≥2 masks, done
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(25);
    } finally {
      await slow.close();
    }
  });
});

describe('faults', () => {
  it('error_mid_stream: boxes then an error line', async () => {
    const lines = await run('dog [[sim:fault=error_mid_stream]]');
    expect(lines.map((l) => l.type)).toEqual(['boxes', 'error']);
    expect(lines[1]).toMatchObject({ error_type: 'segmentation' });
    expect((lines[0]?.boxes as { label: string }[])[0]?.label).toBe('dog');
  });

  it('malformed: boxes then a non-JSON line', async () => {
    const r = await post({ image: png.toString('base64'), text_prompt: 'dog [[sim:fault=malformed]]' });
    const [boxes, bad] = r.text.trimEnd().split('\n');
    expect(JSON.parse(boxes!)).toMatchObject({ type: 'boxes' });
    expect(() => JSON.parse(bad!)).toThrow();
  });

  it('reset: boxes then the socket is destroyed', async () => {
    const res = await request(`${sim.url}/detect_segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: png.toString('base64'), text_prompt: 'dog [[sim:fault=reset]]' }),
    });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
  });

  it('stall: boxes then silence; closing the client ends the request', async () => {
    const closed = new Promise<{ completed: boolean }>((resolve) => sim.events.once('request-closed', resolve));
    const ac = new AbortController();
    const res = await request(`${sim.url}/detect_segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: png.toString('base64'), text_prompt: 'dog [[sim:fault=stall]]' }),
      signal: ac.signal,
    });
    const it = res.body[Symbol.asyncIterator]();
    const first = await it.next();
    expect(String(first.value)).toContain('"boxes"');
    const more = await Promise.race([it.next().then(() => 'data'), new Promise((r) => setTimeout(() => r('silent'), 100))]);
    expect(more).toBe('silent');
    ac.abort();
    expect((await closed).completed).toBe(false);
  });

  it('overloaded_429 and unavailable_503 answer JSON errors with Retry-After', async () => {
    const a = await post({ image: png.toString('base64'), text_prompt: 'dog [[sim:fault=overloaded_429]]' });
    expect(a.status).toBe(429);
    expect(a.headers['retry-after']).toBe('1');
    expect(JSON.parse(a.text)).toEqual({ error: 'Model is overloaded', error_type: 'overloaded' });
    const b = await post({ image: png.toString('base64'), text_prompt: 'dog [[sim:fault=unavailable_503]]' });
    expect(b.status).toBe(503);
    expect(b.headers['retry-after']).toBe('2');
    expect(JSON.parse(b.text)).toMatchObject({ error_type: 'unavailable' });
  });

  it('emits request and request-closed events', async () => {
    const seen: { id: number; completed?: boolean; phrases?: string[] }[] = [];
    const onReq = (e: { id: number; phrases: string[] }): void => void seen.push(e);
    const onClosed = (e: { id: number; completed: boolean }): void => void seen.push(e);
    sim.events.on('request', onReq);
    sim.events.on('request-closed', onClosed);
    await run('Dog . CAT');
    sim.events.off('request', onReq);
    sim.events.off('request-closed', onClosed);
    expect(seen[0]).toMatchObject({ phrases: ['dog', 'cat'] });
    expect(seen[1]).toMatchObject({ id: seen[0]!.id, completed: true });
  });
});

describe('validation', () => {
  const b64 = (): string => png.toString('base64');
  it.each([
    ['missing image', { text_prompt: 'dog' }],
    ['bad base64', { image: '@@@not base64', text_prompt: 'dog' }],
    ['not an image', { image: Buffer.from('hello world, no pixels here').toString('base64'), text_prompt: 'dog' }],
    ['box_threshold 0', { text_prompt: 'dog', box_threshold: 0 }],
    ['box_threshold 1', { text_prompt: 'dog', box_threshold: 1 }],
    ['text_threshold -0.1', { text_prompt: 'dog', text_threshold: -0.1 }],
    ['empty prompt', { text_prompt: ' . ' }],
    ['missing prompt', {}],
  ])('%s → 422 JSON', async (_name, fields) => {
    const body = 'image' in fields || _name === 'missing image' ? fields : { image: b64(), ...fields };
    const r = await post(body);
    expect(r.status).toBe(422);
    expect(JSON.parse(r.text)).toMatchObject({ error_type: 'validation', error: expect.any(String) });
  });

  it('non-JSON → 400, body over 20 MB → 413', async () => {
    expect((await post('{not json')).status).toBe(400);
    const big = await post({ image: 'A'.repeat(21 * 1024 * 1024), text_prompt: 'dog' });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text)).toMatchObject({ error_type: 'validation' });
  });

  it('GET /health is 200; unknown path 404; wrong method 405', async () => {
    expect((await request(`${sim.url}/health`)).statusCode).toBe(200);
    expect((await request(`${sim.url}/nope`)).statusCode).toBe(404);
    expect((await request(`${sim.url}/detect_segment`)).statusCode).toBe(405);
  });
});
