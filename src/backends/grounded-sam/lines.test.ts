// NDJSON line splitting: lines across chunks, many lines per chunk, CRLF, UTF-8 cut mid-character,
// and the line-length bound.
import { describe, expect, it } from 'vitest';
import { VlpError } from '../../../protocol/errors.ts';
import { LineSplitter } from './lines.ts';

describe('LineSplitter', () => {
  it('joins lines split at every byte boundary, including inside a UTF-8 character', () => {
    const text = '{"label":"chien → 犬 🐕"}\n\r\n{"a":1}\r\n{"b":2}\n';
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const s = new LineSplitter();
      const out = [...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut))];
      expect(out).toEqual(['{"label":"chien → 犬 🐕"}', '{"a":1}', '{"b":2}']);
      expect(s.pending).toBe(0);
    }
  });

  it('byte-by-byte feeding yields the same lines', () => {
    const bytes = Buffer.from('x\ny\n\nz');
    const s = new LineSplitter();
    const out: string[] = [];
    for (const b of bytes) out.push(...s.push(Buffer.from([b])));
    expect(out).toEqual(['x', 'y']);
    expect(s.pending).toBe(1);
  });

  it('throws UPSTREAM_PROTOCOL once a line passes the bound, even without a newline', () => {
    const s = new LineSplitter(16);
    expect(s.push(Buffer.from('0123456789\n'))).toEqual(['0123456789']);
    s.push(Buffer.from('0123456789'));
    let err: unknown;
    try {
      s.push(Buffer.from('0123456789'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VlpError);
    expect((err as VlpError).code).toBe('UPSTREAM_PROTOCOL');
  });
});
