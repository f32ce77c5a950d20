// The outbox's byte estimate of a queued frame (frame-bytes.ts) is cheap, but must not under-count
// what the frame costs: it covers the msgpack encoding of every server golden vector and of big
// frames of every kind that can be big (multi-byte text, many boxes, long RLE counts).
import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { FRAME_OVERHEAD_BYTES, frameBytes, textBytes } from './frame-bytes.ts';
import { VECTORS } from '../../protocol/vectors/table.ts';
import type { ServerMessage, ServerPayload } from '../../protocol/messages.ts';

const payloadOf = (msg: ServerMessage): ServerPayload => {
  const { seq: _seq, ...p } = msg;
  return p as ServerPayload;
};
const msgpackBytes = (p: ServerPayload): number => encode({ seq: 1, ...p }).byteLength;

/** 4 UTF-16 units, 10 UTF-8 bytes: a 2-byte, a 3-byte and a 4-byte (surrogate pair) character. */
const MIXED = 'é語😀';
const long = (units: number): string => MIXED.repeat(units / 4);

const BIG: readonly ServerPayload[] = [
  { t: 'gen.token', turn: 't1', i: 0, n: 500, text: long(60_000) },
  { t: 'gen.done', turn: 't1', finish: 'eos_token', tokens: 9000, ttft_ms: 120, total_ms: 9000, text: long(40_000) },
  { t: 'asr.partial', stable: long(8000), unstable: long(400) },
  { t: 'asr.final', turn: 'v1', text: long(8000), language: 'zh' },
  { t: 'plan.step', turn: 't1', index: 3, text: long(8000) },
  { t: 'error', code: 'UPSTREAM_UNAVAILABLE', message: long(8000), retryable: true, fatal: false, turn: 't1', ref: 'turn.start' },
  {
    t: 'intent.update',
    turn: 't1',
    labels: Array.from({ length: 20 }, (_, k) => ({ label: `label-${k}`, score: 0.123456789 })),
    stable: true,
    keywords: Array.from({ length: 400 }, () => long(16)),
  },
  {
    t: 'detect.boxes',
    turn: 't1',
    image: 'img-1',
    size: [4000, 6000],
    boxes: Array.from({ length: 500 }, (_, k) => ({ id: k, label: 'a dog', score: 0.987654321, box: [1.5, 2.25, 3999.125, 5999.0625] })),
  },
  { t: 'mask.frame', turn: 't1', id: 7, label: 'dog', score: 0.93, rle: { size: [4000, 6000], counts: 'P`k03N2O1M3'.repeat(30_000) } },
];

describe('frameBytes', () => {
  it.each(VECTORS.flatMap((v) => (v.direction === 'server' ? [[v.name, payloadOf(v.msg)] as const] : [])))(
    'covers the msgpack encoding of the golden vector %s',
    (_name, p) => {
      expect(frameBytes(p)).toBeGreaterThanOrEqual(msgpackBytes(p));
    },
  );

  it.each(BIG.map((p) => [p.t, p] as const))('covers the msgpack encoding of a big %s frame', (_t, p) => {
    const wire = msgpackBytes(p);
    expect(wire).toBeGreaterThan(10_000);
    expect(frameBytes(p)).toBeGreaterThanOrEqual(wire);
  });

  it('grows a gen.token frame by exactly textBytes of the text merged into it', () => {
    const a: ServerPayload = { t: 'gen.token', turn: 't1', i: 0, n: 1, text: 'Hel' };
    const merged: ServerPayload = { t: 'gen.token', turn: 't1', i: 0, n: 2, text: `Hel${MIXED}` };
    expect(frameBytes(merged)).toBe(frameBytes(a) + textBytes(MIXED));
    expect(frameBytes({ t: 'pong', ts: 1 })).toBe(FRAME_OVERHEAD_BYTES);
  });
});
