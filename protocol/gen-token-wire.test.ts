// The hand-written gen.token frame is byte for byte what the generic msgpack encoder writes for the
// same message in SPEC key order: ASCII, multi-byte and 4-byte UTF-8, every string and uint width.
import { Encoder, decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { GenTokenWire } from './gen-token-wire.ts';
import { MAX_RETAINED_ENCODE_BYTES } from './reused-encoder.ts';
import type { GenTokenMsg } from './messages.ts';

const generic = new Encoder({ ignoreUndefined: true });
const msg = (over: Partial<GenTokenMsg>): GenTokenMsg => ({ t: 'gen.token', seq: 1, turn: 't1', i: 0, n: 1, text: 'Hi', ...over });

function expectSameBytes(m: GenTokenMsg): void {
  const fast = new GenTokenWire().encode(m);
  expect(fast).toBeDefined();
  expect(Buffer.from(fast as Uint8Array)).toEqual(Buffer.from(generic.encode(m)));
}

describe('GenTokenWire', () => {
  it('writes the generic encoder bytes for texts of every UTF-8 shape and length class', () => {
    for (const text of ['', ' The', 'héllo 世界', '😀 ok', 'x'.repeat(31), 'x'.repeat(32), 'é'.repeat(200), 'y'.repeat(255), 'y'.repeat(256), '日'.repeat(30000)]) {
      expectSameBytes(msg({ text }));
    }
  });

  it('writes every unsigned width for seq, i and n', () => {
    for (const v of [0, 127, 128, 255, 256, 65535, 65536, 0xffff_ffff]) expectSameBytes(msg({ seq: v, i: v, n: Math.max(1, v) }));
  });

  it('matches the generic encoder on random messages', () => {
    const alphabet = ['a', ' ', 'é', '世', '😀', '\n', '"', 'Z'];
    const wire = new GenTokenWire();
    for (let k = 0; k < 500; k++) {
      let text = '';
      const len = (k * 7919) % 90;
      for (let j = 0; j < len; j++) text += alphabet[(k * 31 + j * 17) % alphabet.length];
      const m = msg({ seq: k * 977, i: k, n: 1 + (k % 5), turn: `turn-${k}`, text });
      // One writer reused across frames, as a connection uses it.
      expect(Buffer.from(wire.encode(m) as Uint8Array)).toEqual(Buffer.from(generic.encode(m)));
    }
  });

  it('encodes a lone surrogate as U+FFFD (valid UTF-8) and the frame decodes', () => {
    const out = new GenTokenWire().encode(msg({ text: 'a\ud83d' }));
    expect(decode(out as Uint8Array)).toEqual({ t: 'gen.token', seq: 1, turn: 't1', i: 0, n: 1, text: 'a\ufffd' });
  });

  it('declines values outside its fast path (the codec then uses the generic encoder)', () => {
    expect(new GenTokenWire().encode(msg({ seq: 2 ** 32 }))).toBeUndefined();
    expect(new GenTokenWire().encode(msg({ i: -1 }))).toBeUndefined();
    expect(new GenTokenWire().encode(msg({ n: 1.5 }))).toBeUndefined();
  });

  it('drops a buffer grown past the bound by one huge token, and keeps reusing a small one', () => {
    const wire = new GenTokenWire();
    const first = wire.encode(msg({ text: 'Hi' })) as Uint8Array;
    const before = wire.retainedBytes;
    expect(before).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
    const hugeText = 'z'.repeat(200_000);
    const large = wire.encode(msg({ text: hugeText })) as Uint8Array;
    expect(large.byteLength).toBeGreaterThan(200_000);
    expect(wire.retainedBytes).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
    const next = wire.encode(msg({ seq: 2, text: 'ok' })) as Uint8Array;
    expect(wire.retainedBytes).toBe(before);
    expect(next.buffer.byteLength).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
    // The large frame is intact after the next encode; small frames share one buffer.
    expect(decode(large)).toEqual(msg({ text: hugeText }));
    expect(decode(next)).toEqual(msg({ seq: 2, text: 'ok' }));
    expect(wire.encode(msg({ seq: 3 }))?.buffer).toBe(next.buffer);
    void first;
  });
});
