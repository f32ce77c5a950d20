// SSE reassembly from PayloadParts cut anywhere: every single cut point and random multi-cuts of a
// TGI stream with multi-byte characters give back the same data payloads.
import { describe, expect, it } from 'vitest';
import { PayloadSseDecoder } from './payload.ts';

const STREAM =
  'data: {"index":1,"token":{"id":1,"text":" Zürich","special":false}}\n\n' +
  ':\n\n' +
  'data:{"index":2,"token":{"id":2,"text":" 東京 🙂","special":false}}\n\n' +
  'data: {"index":3,"token":{"id":2,"text":"</s>","special":true},"generated_text":"Zürich 東京 🙂"}\n\n';
const bytes = new TextEncoder().encode(STREAM);
const EXPECTED = [
  '{"index":1,"token":{"id":1,"text":" Zürich","special":false}}',
  '{"index":2,"token":{"id":2,"text":" 東京 🙂","special":false}}',
  '{"index":3,"token":{"id":2,"text":"</s>","special":true},"generated_text":"Zürich 東京 🙂"}',
];

function decode(cuts: number[]): string[] {
  const d = new PayloadSseDecoder();
  const out: string[] = [];
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    d.push(bytes.subarray(from, c));
    out.push(...d.pending);
    d.pending.length = 0;
    from = c;
  }
  return out;
}

describe('PayloadSseDecoder', () => {
  it('one cut at every byte offset (inside `data:`, JSON, UTF-8 sequences, blank lines)', () => {
    for (let c = 0; c <= bytes.length; c++) expect(decode([c])).toEqual(EXPECTED);
  });

  it('one byte per part', () => {
    expect(decode(Array.from({ length: bytes.length }, (_, i) => i))).toEqual(EXPECTED);
  });

  it('random multi-cuts', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % 1000) / 1000;
    for (let n = 0; n < 200; n++) {
      const cuts = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => Math.floor(rand() * bytes.length)).sort((a, b) => a - b);
      expect(decode(cuts)).toEqual(EXPECTED);
    }
  });

  it('an oversized event is a protocol error', () => {
    const d = new PayloadSseDecoder(64);
    expect(() => d.push(new TextEncoder().encode(`data: ${'x'.repeat(100)}`))).toThrow(/too large/);
  });
});
