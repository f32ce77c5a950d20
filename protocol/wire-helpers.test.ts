// The codec's building blocks: strict base64, the pooled byte copies, and the msgpack shape scanner.
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { base64Length, decodeBase64, encodeBase64 } from './base64.ts';
import { copyBytes } from './byte-pool.ts';
import { MsgpackShapeScanner, SHAPE_EXT, SHAPE_MALFORMED, SHAPE_OK, SHAPE_TOO_DEEP, SHAPE_TOO_MANY_VALUES } from './msgpack-shape.ts';

describe('base64', () => {
  it('round-trips every length and matches Node', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      const text = encodeBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect(text.length).toBe(base64Length(n));
      expect(decodeBase64(text)).toEqual(bytes);
    }
  });

  it('rejects what Buffer would silently accept', () => {
    for (const bad of ['A', 'AAA', 'AAAAA', 'A===', '=AAA', 'AA=A', 'AA\nAA', 'ÀAAA', 'AA-_', 'AAAA====']) {
      expect(decodeBase64(bad), bad).toBeUndefined();
    }
    expect(decodeBase64('')).toEqual(new Uint8Array(0));
  });
});

describe('copyBytes', () => {
  it('copies into independent plain Uint8Arrays', () => {
    const src = Uint8Array.of(1, 2, 3);
    const a = copyBytes(src);
    const b = copyBytes(src);
    src[0] = 7;
    a[1] = 9;
    expect(Array.from(a)).toEqual([1, 9, 3]);
    expect(Array.from(b)).toEqual([1, 2, 3]);
    expect(a.constructor).toBe(Uint8Array);
    expect(a.byteOffset % 8).toBe(0);
  });

  it('handles slab turnover and large inputs', () => {
    const copies = Array.from({ length: 200 }, (_, i) => copyBytes(new Uint8Array(1000).fill(i)));
    copies.forEach((c, i) => expect(c.every((x) => x === i)).toBe(true));
    const big = copyBytes(new Uint8Array(100_000).fill(3));
    expect(big.byteLength).toBe(100_000);
    expect(big.buffer.byteLength).toBe(100_000);
  });
});

describe('MsgpackShapeScanner', () => {
  const s = new MsgpackShapeScanner(3, 20);
  const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);

  it('accepts well-formed values within bounds', () => {
    for (const v of [null, true, -1, 1.5, 2 ** 40, 'x', 'y'.repeat(300), new Uint8Array(70_000), { a: [1, { b: 2 }] }, [], {}, nest(3)]) {
      expect(s.scan(encode(v))).toBe(SHAPE_OK);
    }
  });

  it('rejects depth, width, ext and truncation', () => {
    expect(s.scan(encode(nest(4)))).toBe(SHAPE_TOO_DEEP);
    expect(s.scan(encode(new Array(20).fill(0)))).toBe(SHAPE_TOO_MANY_VALUES);
    expect(s.scan(encode(new Date(0)))).toBe(SHAPE_EXT);
    const bytes = encode({ a: 'hello' });
    for (let cut = 0; cut < bytes.length; cut++) expect(s.scan(bytes.subarray(0, cut))).toBe(SHAPE_MALFORMED);
    expect(s.scan(Uint8Array.of(0xc1))).toBe(SHAPE_MALFORMED);
  });
});
