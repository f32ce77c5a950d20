// SegmentStreamReader: NDJSON bytes cut anywhere (inside a line's JSON, inside a multi-byte UTF-8
// character, one byte at a time) give the same events; events before a bad line are kept; bytes
// after done are ignored.
import { describe, expect, it } from 'vitest';
import type { VlpError } from '../../../protocol/errors.ts';
import type { SegmentEvent } from '../segmenter-port.ts';
import { pushChunk, SegmentStreamReader } from './reader.ts';

const BOXES = '{"type":"boxes","size":[3,4],"boxes":[{"id":0,"label":"chien → 犬 🐕","score":0.52,"box":[0,0,3,3]}]}\n';
const MASK = '{"type":"mask","id":0,"label":"chien → 犬 🐕","score":0.52,"rle":{"size":[3,4],"counts":"264"}}\n';
const DONE = '{"type":"done","boxes":1,"masks":1}\n';
const BODY = Buffer.from(BOXES + MASK + DONE);
const EXPECTED: SegmentEvent[] = [
  { kind: 'boxes', size: [3, 4], boxes: [{ id: 0, label: 'chien → 犬 🐕', score: 0.52, box: [0, 0, 3, 3] }] },
  { kind: 'mask', id: 0, label: 'chien → 犬 🐕', score: 0.52, rle: { size: [3, 4], counts: '264' } },
  { kind: 'done', boxes: 1, masks: 1 },
];

function read(parts: Uint8Array[]): SegmentEvent[] {
  const r = new SegmentStreamReader([3, 4]);
  const out: SegmentEvent[] = [];
  for (const p of parts) {
    r.push(p);
    out.push(...r.pending.splice(0));
  }
  expect(r.ended).toBe(true);
  return out;
}

describe('SegmentStreamReader', () => {
  it('one cut at every byte offset (inside JSON, inside UTF-8 sequences, at line ends)', () => {
    for (let c = 0; c <= BODY.length; c++) expect(read([BODY.subarray(0, c), BODY.subarray(c)])).toEqual(EXPECTED);
  });

  it('one byte per part, as plain Uint8Array views (not Buffers)', () => {
    const bytes = new Uint8Array(BODY);
    expect(read(Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1)))).toEqual(EXPECTED);
  });

  it('keeps the events before a bad line; the bad line throws UPSTREAM_PROTOCOL', () => {
    const r = new SegmentStreamReader([3, 4]);
    const fault = pushChunk(r, Buffer.from(`${BOXES}{"type":"mask","id":0,"rle":\n`));
    expect((fault as VlpError).code).toBe('UPSTREAM_PROTOCOL');
    expect(r.pending.map((e) => e.kind)).toEqual(['boxes']);
  });

  it('an error line maps by error_type after the boxes', () => {
    const r = new SegmentStreamReader([3, 4]);
    const fault = pushChunk(r, Buffer.from(`${BOXES}{"type":"error","error":"CUDA out of memory","error_type":"segmentation"}\n`));
    expect((fault as VlpError).code).toBe('UPSTREAM_GENERATION_FAILED');
    expect(r.pending).toHaveLength(1);
  });

  it('ignores anything after done', () => {
    const r = new SegmentStreamReader([3, 4]);
    r.push(Buffer.from(`${BOXES}${MASK}${DONE}not json\n`));
    r.push(Buffer.from('more garbage\n'));
    expect(r.pending).toEqual(EXPECTED);
  });
});
