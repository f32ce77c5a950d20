import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { ReplayRing, replayEncoder } from './replay.ts';
import { MAX_RETAINED_ENCODE_BYTES } from '../../protocol/reused-encoder.ts';
import type { ServerMessage } from '../../protocol/messages.ts';

const token = (seq: number, text = `tok${seq}`): ServerMessage => ({ t: 'gen.token', seq, turn: 't', i: seq, n: 1, text });

describe('ReplayRing (msgpack bytes outside the JS heap)', () => {
  it('holds no memory until the first frame, and frees it when everything is acknowledged', () => {
    const r = new ReplayRing(8);
    expect(r.allocatedBytes).toBe(0);
    r.add(token(1));
    expect(r.allocatedBytes).toBeGreaterThan(0);
    r.ack(1);
    expect(r.length).toBe(0);
    expect(r.allocatedBytes).toBe(0);
  });

  it('replays frames after a cursor as equal messages, from given bytes or its own encoding', () => {
    const r = new ReplayRing(16);
    for (let s = 1; s <= 6; s++) {
      const m = token(s, `héllo ${s} 世界`);
      r.add(m, s % 2 === 0 ? encode(m, { ignoreUndefined: true }) : undefined);
    }
    expect(r.since(3, 6)).toEqual([4, 5, 6].map((s) => token(s, `héllo ${s} 世界`)));
    expect(r.since(6, 6)).toEqual([]);
    expect(r.since(7, 6)).toBeUndefined();
  });

  it('drops the oldest frames past the frame bound and refuses cursors that fell off', () => {
    const r = new ReplayRing(4);
    for (let s = 1; s <= 10; s++) r.add(token(s));
    expect(r.length).toBe(4);
    expect(r.since(6, 10)?.map((m) => m.seq)).toEqual([7, 8, 9, 10]);
    expect(r.since(5, 10)).toBeUndefined();
  });

  it('grows its index with the frames it keeps (not the frame bound up front), across wrap-arounds', () => {
    const r = new ReplayRing(16_384, 1 << 20);
    r.add(token(1));
    // One small frame: 64 index slots, not 16 384 (which would be 192 KiB per session that sent anything).
    expect(r.allocatedBytes).toBeLessThan(4096);
    for (let s = 2; s <= 50; s++) r.add(token(s));
    r.ack(40); // the ring's head moves: the next growth copies a wrapped ring
    for (let s = 51; s <= 3000; s++) r.add(token(s));
    expect(r.length).toBe(2960);
    expect(r.since(40, 3000)?.map((m) => m.seq)).toEqual(Array.from({ length: 2960 }, (_, k) => k + 41));
    // Index: 4096 slots (the power of two above 2960), bytes: 256 KiB for about 108 KiB of frames.
    expect(r.allocatedBytes).toBe(4096 * 12 + 262_144);
    // The frame bound still holds once the index is at its full size.
    const small = new ReplayRing(100);
    for (let s = 1; s <= 1000; s++) small.add(token(s));
    expect(small.length).toBe(100);
    expect(small.since(900, 1000)?.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, k) => k + 901));
  });

  it('drops the oldest frames past the byte bound, compacting and growing the buffer as needed', () => {
    const r = new ReplayRing(10_000, 4096);
    const big = 'x'.repeat(300);
    for (let s = 1; s <= 200; s++) r.add(token(s, big + s));
    expect(r.allocatedBytes).toBeLessThanOrEqual(4096 + 10_000 * 12);
    const kept = r.since(200 - r.length, 200);
    expect(kept).toBeDefined();
    expect(kept!.length).toBe(r.length);
    expect(r.length).toBeGreaterThanOrEqual(10);
    expect(kept!.at(-1)).toEqual(token(200, big + 200));
    for (const m of kept!) expect((m as { text: string }).text).toBe(big + m.seq);
  });

  it('a frame larger than the byte bound empties the buffer (older frames could not be replayed in order)', () => {
    const r = new ReplayRing(10, 1024);
    r.add(token(1));
    r.add(token(2, 'y'.repeat(5000)));
    expect(r.length).toBe(0);
    expect(r.since(1, 2)).toBeUndefined();
  });

  it('never stores ready frames (idle sessions hold no buffer)', () => {
    const r = new ReplayRing(8);
    r.add({ t: 'ready', seq: 1, session_id: 's', resume_token: 'x', resumed: false, protocol: 1, models: [], limits: { max_frame_bytes: 1, max_text_chars: 1, max_audio_chunk_bytes: 1, max_image_bytes: 1, resume_window_ms: 1, replay_frames: 1 } });
    expect(r.allocatedBytes).toBe(0);
    r.add(token(2));
    expect(r.since(1, 2)?.map((m) => m.seq)).toEqual([2]);
  });

  it('keeps nothing with capacity 0', () => {
    const r = new ReplayRing(0);
    r.add(token(1));
    expect(r.length).toBe(0);
  });

  it('its shared encoder keeps no large buffer after encoding a large frame itself', () => {
    const r = new ReplayRing(8, 1 << 20);
    r.add(token(1));
    expect(replayEncoder.retainedBytes).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
    const long = 'w'.repeat(300_000);
    r.add(token(2, long));
    expect(replayEncoder.retainedBytes).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
    r.add(token(3));
    expect(replayEncoder.retainedBytes).toBeLessThanOrEqual(MAX_RETAINED_ENCODE_BYTES);
    expect(r.since(0, 3)).toEqual([token(1), token(2, long), token(3)]);
  });
});
