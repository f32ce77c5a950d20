// Encode buffers do not stay at the size of the largest frame ever sent: one big frame (a mask.frame,
// a long gen.done) must not leave a connection's encoder holding a large buffer for its whole life.
import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { createServerCodec } from './codec.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { SUBPROTOCOL_MSGPACK, type GenDoneMsg, type MaskFrameMsg } from './messages.ts';
import { MAX_RETAINED_ENCODE_BYTES, ReusedEncoder } from './reused-encoder.ts';
import { MsgpackWire } from './wire-msgpack.ts';

const small: GenDoneMsg = { t: 'gen.done', seq: 3, turn: 't1', finish: 'eos_token', tokens: 2, ttft_ms: 5, total_ms: 9, text: 'Hi there' };
const bigMask: MaskFrameMsg = {
  t: 'mask.frame', seq: 2, turn: 't1', id: 1, label: 'cup', score: 0.9,
  rle: { size: [2160, 3840], counts: 'a1b2'.repeat(100_000) }, // 400 KB of counts
};
const bounds = { maxStrBytes: 1 << 20, maxBinBytes: 1 << 20, maxArrayLength: 64, maxMapLength: 32, maxDepth: 8, maxValues: 1024 };

describe('ReusedEncoder', () => {
  it('drops its buffer after a large frame; the next small frame uses a small one', () => {
    const enc = new ReusedEncoder();
    const before = enc.retainedBytes;
    expect(before).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);

    const large = enc.encode(bigMask);
    expect(large.byteLength).toBeGreaterThan(400_000);
    // The large frame's buffer is not kept once the frame has been handed out.
    expect(enc.retainedBytes).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);

    const next = enc.encode(small);
    expect(next.buffer.byteLength).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
    expect(enc.retainedBytes).toBe(before);
    expect(decode(next)).toEqual(small);
    // The view returned for the large frame is still intact (it never shared the new buffer).
    expect(decode(large)).toEqual(bigMask);
  });

  it('reuses one buffer across small frames (no allocation on the hot path)', () => {
    const enc = new ReusedEncoder();
    const a = enc.encode(small);
    const b = enc.encode({ ...small, seq: 4 });
    expect(b.buffer).toBe(a.buffer);
  });

  it('keeps a buffer that grew only up to the bound', () => {
    const enc = new ReusedEncoder();
    enc.encode({ ...small, text: 'x'.repeat(20_000) }); // grows the buffer, under the bound
    expect(enc.retainedBytes).toBeGreaterThan(20_000);
    expect(enc.retainedBytes).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
  });
});

describe('MsgpackWire (one per connection)', () => {
  it('retains no large encode buffer after one large frame', () => {
    const wire = new MsgpackWire(bounds);
    wire.encode(small);
    const before = wire.retainedEncodeBytes;
    const large = wire.encode(bigMask);
    expect(large.byteLength).toBeGreaterThan(400_000);
    expect(wire.retainedEncodeBytes).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
    const next = wire.encode(small);
    expect(wire.retainedEncodeBytes).toBe(before);
    expect(next.buffer.byteLength).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
  });

  it('the server codec still round-trips frames after a large one', () => {
    const codec = createServerCodec(SUBPROTOCOL_MSGPACK, DEFAULT_LIMITS);
    const large = codec.encode(bigMask) as Uint8Array;
    const next = codec.encode(small) as Uint8Array;
    expect(next.buffer.byteLength).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
    expect(decode(next)).toEqual(small);
    expect(decode(large)).toEqual(bigMask);
  });
});
