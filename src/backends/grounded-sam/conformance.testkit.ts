// A conformance suite for SegmenterBackend adapters (test-only): every subject runs the same
// requests against the same simulated Grounded-SAM and must (1) keep the port's contract — boxes
// once and first, one mask per box with the box's label and score, RLEs covering the image, done
// last with the right counts — and (2) give exactly the events the reference adapter gives (the
// HTTP adapter talking to the service directly), whatever transport sits in between.
import { describe, expect, it } from 'vitest';
import { stringToCounts } from '../../../protocol/rle.ts';
import type { SegmentEvent, SegmenterBackend, SegmentImage, SegmentRequest } from '../segmenter-port.ts';

export interface ConformanceCase {
  name: string;
  phrases: string[];
  boxThreshold?: number;
  textThreshold?: number;
}

/** The simulator's detection is deterministic per (image, phrase): `dog`, `cat`, `person`, `car` as
 *  a word always get a box, `unicorn` never does. */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  { name: 'one phrase that is always found', phrases: ['dog'] },
  { name: 'several phrases, mixed case, best score first', phrases: ['Dog', 'cat', 'person', 'red car'] },
  { name: 'nothing found: boxes [] then done', phrases: ['unicorn'] },
  { name: 'multi-byte labels', phrases: ['süßer dog 🐕', 'chat → 猫 cat'] },
  { name: 'a high box threshold', phrases: ['dog', 'cat', 'car'], boxThreshold: 0.9 },
];

export function conformanceRequest(image: SegmentImage, c: ConformanceCase, signal: AbortSignal = new AbortController().signal): SegmentRequest {
  return { image, phrases: c.phrases, boxThreshold: c.boxThreshold ?? 0.5, textThreshold: c.textThreshold ?? 0.55, signal };
}

export async function collectSegments(it: AsyncIterable<SegmentEvent>): Promise<SegmentEvent[]> {
  const out: SegmentEvent[] = [];
  for await (const ev of it) out.push(ev);
  return out;
}

/** The SegmenterBackend.segment contract on one complete stream for an image of `size` = [h, w]. */
export function expectPortContract(events: readonly SegmentEvent[], size: [number, number]): void {
  const [first, ...rest] = events;
  if (first?.kind !== 'boxes') throw new Error(`first event is ${first?.kind ?? 'missing'}, not boxes`);
  expect(first.size).toEqual(size);
  const last = rest.at(-1);
  expect(last?.kind).toBe('done');
  const masks = rest.slice(0, -1);
  expect(masks.every((e) => e.kind === 'mask')).toBe(true);
  const boxes = new Map(first.boxes.map((b) => [b.id, b]));
  expect(boxes.size).toBe(first.boxes.length);
  const seen = new Set<number>();
  for (const m of masks) {
    if (m.kind !== 'mask') continue;
    const box = boxes.get(m.id);
    if (box === undefined) throw new Error(`mask ${m.id} has no box`);
    expect(seen.has(m.id)).toBe(false);
    seen.add(m.id);
    expect([m.label, m.score]).toEqual([box.label, box.score]);
    expect(m.rle.size).toEqual(size);
    expect(stringToCounts(m.rle.counts).reduce((a, b) => a + b, 0)).toBe(size[0] * size[1]);
  }
  for (const b of first.boxes) {
    expect(b.box[0]).toBeGreaterThanOrEqual(0);
    expect(b.box[1]).toBeGreaterThanOrEqual(0);
    expect(b.box[2]).toBeLessThanOrEqual(size[1]);
    expect(b.box[3]).toBeLessThanOrEqual(size[0]);
  }
  expect(last).toEqual({ kind: 'done', boxes: first.boxes.length, masks: masks.length });
}

export interface ConformanceSubject {
  name: string;
  /** Called inside each test (after beforeAll hooks). */
  backend: () => SegmenterBackend;
}

/** Declares one test per (subject, case). `reference` and `image` are called inside the tests. */
export function describeSegmenterConformance(opts: { subjects: ConformanceSubject[]; reference: () => SegmenterBackend; image: () => SegmentImage }): void {
  describe.each(opts.subjects)('segmenter conformance: $name', (subject) => {
    it.each(CONFORMANCE_CASES)('$name', async (c) => {
      const image = opts.image();
      const [expected, got] = await Promise.all([
        collectSegments(opts.reference().segment(conformanceRequest(image, c))),
        collectSegments(subject.backend().segment(conformanceRequest(image, c))),
      ]);
      expectPortContract(got, [image.height, image.width]);
      expect(got).toEqual(expected);
    });
  });
}
