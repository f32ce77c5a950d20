// Shape and order checks of /detect_segment lines.
import { describe, expect, it } from 'vitest';
import type { VlpError } from '../../../protocol/errors.ts';
import { StreamState } from './events.ts';
import { MAX_INSTANCES } from './request.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as VlpError).code;
  }
  return undefined;
}

const boxes = JSON.stringify({ type: 'boxes', size: [3, 4], boxes: [{ id: 0, label: 'dog', score: 0.52, box: [0, 0, 3, 3] }] });
const mask = JSON.stringify({ type: 'mask', id: 0, label: 'dog', score: 0.52, rle: { size: [3, 4], counts: '264' } });

describe('StreamState', () => {
  it('accepts boxes → mask → done', () => {
    const s = new StreamState([3, 4]);
    expect(s.parseLine(boxes)).toEqual({ kind: 'boxes', size: [3, 4], boxes: [{ id: 0, label: 'dog', score: 0.52, box: [0, 0, 3, 3] }] });
    expect(s.parseLine(mask)).toEqual({ kind: 'mask', id: 0, label: 'dog', score: 0.52, rle: { size: [3, 4], counts: '264' } });
    expect(s.parseLine('{"type":"done","boxes":1,"masks":1}')).toEqual({ kind: 'done', boxes: 1, masks: 1 });
  });

  it('accepts max_instances boxes and rejects one more (the service cuts to max_instances)', () => {
    const line = (n: number): string =>
      JSON.stringify({ type: 'boxes', size: [3, 4], boxes: Array.from({ length: n }, (_, id) => ({ id, label: 'dog', score: 0.5, box: [0, 0, 3, 3] })) });
    expect(MAX_INSTANCES).toBe(20);
    expect(new StreamState([3, 4]).parseLine(line(MAX_INSTANCES))).toMatchObject({ kind: 'boxes', boxes: { length: MAX_INSTANCES } });
    expect(code(() => new StreamState([3, 4]).parseLine(line(MAX_INSTANCES + 1)))).toBe('UPSTREAM_PROTOCOL');
  });

  it('clamps a box overshooting by under a pixel', () => {
    const s = new StreamState([3, 4]);
    const ev = s.parseLine(JSON.stringify({ type: 'boxes', size: [3, 4], boxes: [{ id: 0, label: 'a', score: 0.6, box: [-0.4, 0, 4.3, 3] }] }));
    expect(ev).toMatchObject({ boxes: [{ box: [0, 0, 4, 3] }] });
  });

  it.each([
    ['not JSON', ['{"type":']],
    ['array', ['[1]']],
    ['unknown type', ['{"type":"boxen"}']],
    ['mask before boxes', [mask]],
    ['done before boxes', ['{"type":"done","boxes":0,"masks":0}']],
    ['wrong boxes size', [boxes.replace('"size":[3,4]', '"size":[4,3]')]],
    ['box outside the image', [boxes.replace('[0,0,3,3]', '[0,0,9,3]')]],
    ['inverted box', [boxes.replace('[0,0,3,3]', '[3,0,1,3]')]],
    ['box with 3 numbers', [boxes.replace('[0,0,3,3]', '[0,0,3]')]],
    ['score above 1', [boxes.replace('0.52', '1.5')]],
    ['second boxes', [boxes, boxes]],
    ['mask of an unknown id', [boxes, mask.replace('"id":0', '"id":7')]],
    ['mask twice', [boxes, mask, mask]],
    ['mask size differs', [boxes, mask.replace('"size":[3,4]', '"size":[3,5]')]],
    ['counts outside charset', [boxes, mask.replace('"264"', '"26p"')]],
    ['counts short of the image', [boxes, mask.replace('"264"', '"263"')]],
    ['done counts differ', [boxes, '{"type":"done","boxes":1,"masks":1}']],
  ])('%s → UPSTREAM_PROTOCOL', (_name, lines) => {
    const s = new StreamState([3, 4]);
    const last = lines.pop() as string;
    for (const l of lines) s.parseLine(l);
    expect(code(() => s.parseLine(last))).toBe('UPSTREAM_PROTOCOL');
  });

  it.each([
    ['validation', 'UPSTREAM_REJECTED'],
    ['overloaded', 'UPSTREAM_OVERLOADED'],
    ['segmentation', 'UPSTREAM_GENERATION_FAILED'],
    [undefined, 'UPSTREAM_GENERATION_FAILED'],
  ])('error line with error_type %s → %s', (type, expected) => {
    const s = new StreamState([3, 4]);
    s.parseLine(boxes);
    expect(code(() => s.parseLine(JSON.stringify({ type: 'error', error: 'boom', error_type: type })))).toBe(expected);
  });
});
