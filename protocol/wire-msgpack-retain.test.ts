// The msgpack wire does not keep a large frame alive after decoding it: @msgpack/msgpack's Decoder
// holds its last input until the next decode, so an idle connection whose last frame was an 8 MiB
// image would keep it. Checked with a real GC (WeakRef on the frame's buffer).
import { encode } from '@msgpack/msgpack';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MsgpackWire, type WireBounds } from './wire-msgpack.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const BOUNDS: WireBounds = { maxStrBytes: 1 << 20, maxBinBytes: 8 << 20, maxArrayLength: 64, maxMapLength: 64, maxDepth: 8, maxValues: 1024 };

/** Decodes a frame built in a buffer of its own; returns a WeakRef to that buffer and keeps no
 *  other reference to it (the decoded value is dropped; its text is a copy). */
function decodeOnce(wire: MsgpackWire, textBytes: number, ok = true): WeakRef<ArrayBuffer> {
  const frame = encode({ t: 'turn.start', id: 't1', text: 'x'.repeat(textBytes) });
  const own = new Uint8Array(frame.length);
  own.set(frame);
  const ref = new WeakRef(own.buffer);
  const r = wire.decode(own);
  expect(r.ok).toBe(ok);
  return ref;
}

async function collected(ref: WeakRef<ArrayBuffer>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

describe('msgpack wire memory', () => {
  it('releases a large frame once decoded, whether it decoded or failed', async () => {
    const wire = new MsgpackWire(BOUNDS);
    expect(await collected(decodeOnce(wire, 512 * 1024))).toBe(true);
    // A string over maxStrBytes: the shape scan passes it, the decoder throws mid-frame.
    const strict = new MsgpackWire({ ...BOUNDS, maxStrBytes: 256 * 1024 });
    expect(await collected(decodeOnce(strict, 512 * 1024, false))).toBe(true);
    // The wire still decodes afterwards, with its limits.
    expect(wire.decode(encode({ t: 'ping' }))).toEqual({ ok: true, value: { t: 'ping' } });
    expect(wire.decode(encode({ t: 'x', s: 'y'.repeat((1 << 20) + 1) }))).toMatchObject({ ok: false, code: 'PROTO_FIELD_TOO_LARGE' });
  });
});
