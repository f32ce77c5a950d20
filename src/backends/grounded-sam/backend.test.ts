// The Grounded-SAM adapter against the simulated service over loopback: a full run whose masks
// decode to ellipses inside their boxes, each fault → its code, cancellation via abort and break.
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VlpError } from '../../../protocol/errors.ts';
import { startGroundedSamSim, type GroundedSamSim } from '../../../sim/grounded-sam/index.ts';
import { decodeCounts, rleArea, rleBbox, shapeMaskCounts, stringToCounts } from '../../../protocol/rle.ts';
import type { SegmentEvent, SegmenterBackend, SegmentRequest } from '../segmenter-port.ts';
import { createGroundedSamBackend } from './index.ts';

let sim: GroundedSamSim;
let backend: SegmenterBackend;
let image: SegmentRequest['image'];

const TIMEOUTS = { connectTimeoutMs: 1000, firstEventTimeoutMs: 2000, interEventTimeoutMs: 300 };

beforeAll(async () => {
  sim = await startGroundedSamSim({ detectMs: 10, perMaskMs: 5, jitter: 0 });
  backend = createGroundedSamBackend({ url: sim.url, ...TIMEOUTS });
  const bytes = await sharp({ create: { width: 160, height: 120, channels: 3, background: '#777' } }).jpeg().toBuffer();
  image = { bytes: new Uint8Array(bytes), mime: 'image/jpeg', width: 160, height: 120 };
});
afterAll(async () => {
  await backend.close();
  await sim.close();
});

function req(phrases: string[], signal: AbortSignal = new AbortController().signal): SegmentRequest {
  return { image, phrases, boxThreshold: 0.5, textThreshold: 0.55, signal };
}

async function collect(it: AsyncIterable<SegmentEvent>): Promise<SegmentEvent[]> {
  const out: SegmentEvent[] = [];
  for await (const ev of it) out.push(ev);
  return out;
}

async function failure(phrases: string[], b: SegmenterBackend = backend): Promise<VlpError> {
  try {
    await collect(b.segment(req(phrases)));
  } catch (err) {
    return err as VlpError;
  }
  throw new Error('expected a failure');
}

describe('against the simulator', () => {
  it('streams boxes, masks that decode to ellipses inside their boxes, then done', async () => {
    const events = await collect(backend.segment(req(['Dog', 'cat', 'person'])));
    const [first, ...rest] = events;
    if (first?.kind !== 'boxes') throw new Error('boxes first');
    expect(first.size).toEqual([120, 160]);
    expect(first.boxes.length).toBeGreaterThanOrEqual(3);
    const masks = rest.filter((e) => e.kind === 'mask');
    expect(masks.length).toBe(first.boxes.length);
    expect(rest.at(-1)).toEqual({ kind: 'done', boxes: first.boxes.length, masks: first.boxes.length });
    for (const m of masks) {
      const box = first.boxes.find((b) => b.id === m.id);
      if (box === undefined) throw new Error('mask without box');
      expect(m.label).toBe(box.label);
      const counts = stringToCounts(m.rle.counts);
      expect(counts).toEqual(shapeMaskCounts(box.box, 120, 160, 'ellipse'));
      expect(decodeCounts(counts, 120, 160).length).toBe(120 * 160);
      const [x, y, w, h] = rleBbox(counts, 120, 160);
      const [x0, y0, x1, y1] = box.box;
      expect(x).toBeGreaterThanOrEqual(Math.floor(x0));
      expect(y).toBeGreaterThanOrEqual(Math.floor(y0));
      expect(x + w).toBeLessThanOrEqual(Math.ceil(x1));
      expect(y + h).toBeLessThanOrEqual(Math.ceil(y1));
      expect(rleArea(counts)).toBeGreaterThan(0.7 * (x1 - x0) * (y1 - y0));
    }
  });

  it('sends the GroundingDINO caption and thresholds', async () => {
    const seen = new Promise<{ phrases: string[]; boxThreshold: number; textThreshold: number }>((r) => sim.events.once('request', r));
    await collect(backend.segment(req(['Red Car', 'a.b'])));
    expect(await seen).toMatchObject({ phrases: ['red car', 'a b'], boxThreshold: 0.5, textThreshold: 0.55 });
  });

  it('a zero-box phrase gives boxes [] then done', async () => {
    expect(await collect(backend.segment(req(['unicorn'])))).toEqual([
      { kind: 'boxes', size: [120, 160], boxes: [] },
      { kind: 'done', boxes: 0, masks: 0 },
    ]);
  });

  it.each([
    ['error_mid_stream', 'UPSTREAM_GENERATION_FAILED'],
    ['reset', 'UPSTREAM_RESET'],
    ['stall', 'UPSTREAM_TIMEOUT'],
    ['overloaded_429', 'UPSTREAM_OVERLOADED'],
    ['unavailable_503', 'UPSTREAM_OVERLOADED'],
    ['malformed', 'UPSTREAM_PROTOCOL'],
    ['validation', 'UPSTREAM_REJECTED'],
  ])('fault %s → %s', async (fault, code) => {
    const err = await failure([`dog [[sim:fault=${fault}]]`]);
    expect(err.code).toBe(code);
    if (fault === 'overloaded_429') expect(err.retryAfterS).toBe(1);
    if (fault === 'unavailable_503') expect(err.retryAfterS).toBe(2);
  });

  it('a refused connection → UPSTREAM_UNAVAILABLE; probe false', async () => {
    const dead = await startGroundedSamSim();
    const url = dead.url;
    await dead.close();
    const b = createGroundedSamBackend({ url, ...TIMEOUTS });
    expect((await failure(['dog'], b)).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await b.probe(500)).toBe(false);
    await b.close();
  });

  it('probe is true against a live service', async () => {
    expect(await backend.probe(1000)).toBe(true);
  });

  it('rejects requests the session must not build', async () => {
    await expect(collect(backend.segment(req([' . ', ''])))).rejects.toThrow(RangeError);
    await expect(collect(backend.segment({ ...req(['dog']), boxThreshold: 1 }))).rejects.toThrow(RangeError);
  });
});

describe('cancellation', () => {
  const slowOpts = { detectMs: 20, perMaskMs: 2000, jitter: 0 };

  it('aborting the signal closes the upstream request within 50 ms', async () => {
    const slow = await startGroundedSamSim(slowOpts);
    const b = createGroundedSamBackend({ url: slow.url, ...TIMEOUTS, interEventTimeoutMs: 10_000 });
    try {
      const ac = new AbortController();
      const closed = new Promise<{ atMs: number; completed: boolean }>((r) => slow.events.once('request-closed', r));
      const it = b.segment(req(['dog', 'cat'], ac.signal))[Symbol.asyncIterator]();
      expect((await it.next()).value).toMatchObject({ kind: 'boxes' });
      const pending = it.next(); // the first mask is 2 s away
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      ac.abort(new Error('barge-in'));
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      const c = await closed;
      expect(c.completed).toBe(false);
      expect(c.atMs - t0).toBeLessThan(50);
    } finally {
      await b.close();
      await slow.close();
    }
  }, 10_000);

  it('breaking out of the loop closes the upstream request within 50 ms', async () => {
    const slow = await startGroundedSamSim(slowOpts);
    const b = createGroundedSamBackend({ url: slow.url, ...TIMEOUTS, interEventTimeoutMs: 10_000 });
    try {
      const closed = new Promise<{ atMs: number; completed: boolean }>((r) => slow.events.once('request-closed', r));
      let t0 = 0;
      for await (const ev of b.segment(req(['dog', 'cat']))) {
        expect(ev.kind).toBe('boxes');
        t0 = performance.now();
        break;
      }
      const c = await closed;
      expect(c.completed).toBe(false);
      expect(c.atMs - t0).toBeLessThan(50);
    } finally {
      await b.close();
      await slow.close();
    }
  });

  it('an already aborted signal never calls upstream', async () => {
    const ac = new AbortController();
    ac.abort();
    let called = false;
    const on = (): void => {
      called = true;
    };
    sim.events.once('request', on);
    await expect(collect(backend.segment(req(['dog'], ac.signal)))).rejects.toMatchObject({ name: 'AbortError' });
    sim.events.off('request', on);
    expect(called).toBe(false);
  });
});
