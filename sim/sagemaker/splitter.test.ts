// PayloadPart splitting: event-boundary tracking across chunks, the deliberate awkward cuts and
// their statistics, and lossless reassembly.
import { describe, expect, it } from 'vitest';
import { NdjsonScanner, PartSplitter, SseScanner } from './splitter.ts';
import type { SageMakerSimStats } from './types.ts';

const enc = new TextEncoder();
const stats = (): SageMakerSimStats => ({ payloadParts: 0, exceptionEvents: 0, splitInsideUtf8: 0, splitInsideDataPrefix: 0, splitInsideJson: 0, splitOther: 0 });

describe('SseScanner', () => {
  it('finds event starts and data-event ends across chunk boundaries; keep-alives are not events', () => {
    const s = new SseScanner();
    expect(s.scan(enc.encode('data: {"a":1}\n\n:\n\ndata: {"b"'))).toEqual({ starts: [0, 15, 18], dataEnds: [15] });
    expect(s.scan(enc.encode(':2}\n'))).toEqual({ starts: [], dataEnds: [] });
    expect(s.scan(enc.encode('\ndata:{}\n\n'))).toEqual({ starts: [1], dataEnds: [1, 10] });
  });
});

describe('PartSplitter', () => {
  const event = enc.encode('data: {"index":1,"token":{"id":5,"text":" Zürich 🙂","special":false},"generated_text":null}\n\n');

  it("'awkward' cuts inside `data:`, inside the JSON and inside multi-byte characters, losing nothing", () => {
    const st = stats();
    const parts = new PartSplitter('awkward', st, 7).split(event, new SseScanner().scan(event));
    expect(parts.length).toBeGreaterThanOrEqual(4);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(event));
    expect(Buffer.from(parts[0] as Uint8Array).toString()).toBe('da');
    expect(st.splitInsideDataPrefix).toBe(1);
    expect(st.splitInsideUtf8).toBeGreaterThanOrEqual(2); // ü and 🙂
    expect(st.splitInsideJson).toBeGreaterThanOrEqual(1);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(parts.find((p) => p.includes(0xc3)))).toThrow();
  });

  it('is deterministic for a seed', () => {
    const a = new PartSplitter('awkward', stats(), 3).split(event, new SseScanner().scan(event)).map((p) => p.length);
    const b = new PartSplitter('awkward', stats(), 3).split(event, new SseScanner().scan(event)).map((p) => p.length);
    expect(a).toEqual(b);
  });

  it("'events' passes each container chunk through as one part", () => {
    const st = stats();
    expect(new PartSplitter('events', st).split(event, new SseScanner().scan(event))).toEqual([event]);
    expect(st.splitOther + st.splitInsideJson + st.splitInsideUtf8 + st.splitInsideDataPrefix).toBe(0);
  });
});

describe('NdjsonScanner', () => {
  it('every non-empty line is an event, across chunk boundaries; blank lines are not', () => {
    const s = new NdjsonScanner();
    expect(s.scan(enc.encode('{"a":1}\n\n{"b"'))).toEqual({ starts: [0, 9], dataEnds: [8] });
    expect(s.scan(enc.encode(':2}'))).toEqual({ starts: [], dataEnds: [] });
    expect(s.scan(enc.encode('\n{}\n'))).toEqual({ starts: [1], dataEnds: [1, 4] });
  });
});

describe('PartSplitter (ndjson)', () => {
  const lines = enc.encode('{"type":"boxes","boxes":[{"label":"süßer dog 🐕"}]}\n{"type":"done","boxes":1,"masks":0}\n');

  it("'awkward' cuts after each line's \"{\", mid-line and inside multi-byte characters, losing nothing", () => {
    const st = stats();
    const parts = new PartSplitter('awkward', st, 7, 'ndjson').split(lines, new NdjsonScanner().scan(lines));
    expect(Buffer.concat(parts)).toEqual(Buffer.from(lines));
    expect(Buffer.from(parts[0] as Uint8Array).toString()).toBe('{');
    expect(parts.length).toBeGreaterThanOrEqual(6);
    expect(st.splitInsideUtf8).toBeGreaterThanOrEqual(2);
    expect(st.splitInsideJson).toBeGreaterThanOrEqual(3);
    expect(st.splitInsideDataPrefix).toBe(0);
  });
});
