// Audio framing and pacing: chunk sizes per format, byte order kept, audio.start first and
// audio.end last, deadlines computed from the start (fake clock), catch-up bound, backpressure,
// abort and a closed socket; Ogg pages and Opus TOC durations; format specs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AudioChunkMsg, ClientMessage } from '../../protocol/messages.ts';
import { frameAudio, opusPacketMs, parseAudioFormat, pumpAudio, systemClock, type AudioClock, type AudioPiece, type AudioSink } from './audio.ts';
import { VlpClientError } from './errors.ts';
import type { SendResult } from './wire.ts';

const PCM16_16K = { encoding: 'pcm16', sample_rate: 16_000, channels: 1 } as const;

/** A clock that only moves when the pacer sleeps (by `overshootMs` more than asked) or a test moves it. */
class FakeClock implements AudioClock {
  t = 1_000;
  sleeps: number[] = [];
  constructor(private readonly overshootMs = 0) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.t += ms + this.overshootMs;
    return Promise.resolve();
  }
}

class FakeSink implements AudioSink {
  readonly sent: { msg: ClientMessage; at: number }[] = [];
  drains = 0;
  maxChunkBytes = 65_536;
  constructor(
    private readonly clock: AudioClock,
    private readonly result: (n: number) => SendResult = () => 'ok',
    private readonly onDrain: () => void = () => {},
  ) {}
  send(msg: ClientMessage): SendResult {
    // Copy: the pacer may hand out views into buffers it reuses.
    const copy = msg.t === 'audio.chunk' ? { ...msg, data: new Uint8Array(msg.data) } : msg;
    this.sent.push({ msg: copy, at: this.clock.now() });
    return this.result(this.sent.length);
  }
  drain(): Promise<void> {
    this.drains += 1;
    this.onDrain();
    return Promise.resolve();
  }
  closedError(): Error {
    return new VlpClientError('CLIENT_CLOSED', 'closed', { retryable: true });
  }
  chunks(): { data: Uint8Array; at: number }[] {
    return this.sent.flatMap((s) => (s.msg.t === 'audio.chunk' ? [{ data: (s.msg as AudioChunkMsg).data, at: s.at }] : []));
  }
}

function bytes(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

/** `total` bytes cut into chunks of the given sizes (cycled). */
async function* pieces(total: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let i = 0;
  for (let k = 0; i < total.length; k++) {
    const n = sizes[k % sizes.length] as number;
    yield total.subarray(i, i + n);
    i += n;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

describe('pumpAudio', () => {
  it('re-chunks PCM16 into 20 ms frames in order, audio.start first and audio.end last', async () => {
    const clock = new FakeClock();
    const sink = new FakeSink(clock);
    const audio = bytes(16_001); // 500 ms and one stray byte
    const r = await pumpAudio(sink, pieces(audio, [1000, 333, 7, 4096]), { format: PCM16_16K, language: 'en', task: 'translate', clock });
    expect(sink.sent[0]?.msg).toEqual({ t: 'audio.start', format: PCM16_16K, language: 'en', task: 'translate' });
    expect(sink.sent.at(-1)?.msg).toEqual({ t: 'audio.end' });
    const chunks = sink.chunks();
    expect(chunks.map((c) => c.data.length)).toEqual(Array.from({ length: 25 }, () => 640));
    expect(concat(chunks.map((c) => c.data))).toEqual(audio.subarray(0, 16_000));
    expect(r).toEqual({ chunks: 25, bytes: 16_000, audioMs: 500 });
  });

  it('sizes frames by format and chunkMs, within max_audio_chunk_bytes', async () => {
    const sizes = async (format: Parameters<typeof pumpAudio>[2]['format'], total: number, chunkMs?: number, max = 65_536) => {
      const clock = new FakeClock();
      const sink = new FakeSink(clock);
      sink.maxChunkBytes = max;
      await pumpAudio(sink, pieces(bytes(total), [999]), { format, pace: 'none', ...(chunkMs !== undefined && { chunkMs }) });
      return sink.chunks().map((c) => c.data.length);
    };
    expect(await sizes({ encoding: 'mulaw', sample_rate: 8_000, channels: 1 }, 400)).toEqual([160, 160, 80]);
    expect(await sizes({ encoding: 'f32', sample_rate: 48_000, channels: 1 }, 3_840 * 2 + 6)).toEqual([3_840, 3_840, 4]);
    expect(await sizes(PCM16_16K, 3_200, 100)).toEqual([3_200]);
    expect(await sizes(PCM16_16K, 40_000, 1_000, 4_097)).toEqual([...Array.from({ length: 9 }, () => 4_096), 3_136]);
  });

  it('sends chunk k at start + k × chunkMs / speed, computed from the start (no drift)', async () => {
    for (const [pace, speed] of [['realtime', 1], [2, 2], [0.5, 0.5]] as const) {
      const clock = new FakeClock(3); // every sleep overshoots by 3 ms
      const sink = new FakeSink(clock);
      await pumpAudio(sink, pieces(bytes(640 * 50), [640 * 7]), { format: PCM16_16K, pace, clock });
      const at = sink.chunks().map((c) => c.at - 1_000);
      expect(at).toHaveLength(50);
      at.forEach((t, k) => {
        const due = (k * 20) / speed;
        expect(t).toBeGreaterThanOrEqual(due);
        expect(t).toBeLessThanOrEqual(due + 3); // the overshoot never accumulates
      });
    }
  });

  it("pace 'none' never sleeps", async () => {
    const clock = new FakeClock();
    const sink = new FakeSink(clock);
    await pumpAudio(sink, pieces(bytes(640 * 20), [640]), { format: PCM16_16K, pace: 'none', clock });
    expect(clock.sleeps).toEqual([]);
    expect(sink.chunks()).toHaveLength(20);
  });

  it('waits for drain on backpressure, and catches up at most maxCatchUpMs after a stall', async () => {
    const clock = new FakeClock();
    // Message 7 is chunk 5 (after audio.start): it meets backpressure, and draining takes 2.5 s.
    const sink = new FakeSink(clock, (n) => (n === 7 ? 'backpressure' : 'ok'), () => (clock.t += 2_500));
    await pumpAudio(sink, pieces(bytes(640 * 100), [640]), { format: PCM16_16K, clock, maxCatchUpMs: 1_000 });
    expect(sink.drains).toBe(1);
    const at = sink.chunks().map((c) => c.at - 1_000);
    expect(at.slice(0, 6)).toEqual([0, 20, 40, 60, 80, 100]);
    // Chunk 5 went at 100 and drained until 2600; chunk 6 (due 120) is 2480 ms late: only 1000 ms
    // of that is caught up, so the schedule shifts by 1480 ms and chunks go at once until it is met.
    for (let k = 6; k < 100; k++) expect(at[k]).toBe(Math.max(2_600, k * 20 + 1_480));
  });

  it('rejects with the sink error when the socket is closed', async () => {
    const clock = new FakeClock();
    const sink = new FakeSink(clock, (n) => (n >= 3 ? 'dropped' : 'ok'));
    await expect(pumpAudio(sink, pieces(bytes(640 * 10), [640]), { format: PCM16_16K, clock })).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('abort stops sending without audio.end and rejects with the reason', async () => {
    const ac = new AbortController();
    const clock = new FakeClock();
    const sink = new FakeSink(clock, (n) => {
      if (n === 4) ac.abort(new Error('stop'));
      return 'ok';
    });
    let closedSource = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) yield bytes(640);
      } finally {
        closedSource = true;
      }
    }
    await expect(pumpAudio(sink, source(), { format: PCM16_16K, clock, signal: ac.signal })).rejects.toThrow('stop');
    expect(sink.sent.some((s) => s.msg.t === 'audio.end')).toBe(false);
    expect(sink.chunks()).toHaveLength(3);
    expect(closedSource).toBe(true);
  });

  it('rejects bad options and string sources', async () => {
    const sink = new FakeSink(new FakeClock());
    await expect(pumpAudio(sink, pieces(bytes(10), [10]), { format: PCM16_16K, pace: 0 })).rejects.toThrow(RangeError);
    await expect(pumpAudio(sink, pieces(bytes(10), [10]), { format: PCM16_16K, chunkMs: -1 })).rejects.toThrow(RangeError);
    async function* text(): AsyncGenerator<string> {
      yield 'abc';
    }
    await expect(pumpAudio(sink, text(), { format: PCM16_16K, pace: 'none' })).rejects.toThrow(TypeError);
  });

  it('paces by the real clock (lower bound only)', async () => {
    const sink = new FakeSink(systemClock);
    const t0 = performance.now();
    await pumpAudio(sink, pieces(bytes(640 * 10), [6400]), { format: PCM16_16K, pace: 2 });
    // 10 chunks of 20 ms at 2x: the last one is due 90 ms after the first.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(85);
  });
});

describe('frameAudio', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-audio-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('splits Ogg Opus into whole pages timed by granule position', async () => {
    const ogg = join(dir, 'tone.ogg');
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', '-ac', '1', '-c:a', 'libopus', '-page_duration', '500000', ogg]);
    const file = new Uint8Array(readFileSync(ogg));
    const got: AudioPiece[] = [];
    const tally = { endMs: undefined as number | undefined };
    for await (const p of frameAudio(pieces(file, [1_000, 77, 5_000]), { encoding: 'ogg_opus', sample_rate: 48_000, channels: 1 }, { maxChunkBytes: 65_536 }, tally)) {
      got.push({ data: new Uint8Array(p.data), atMs: p.atMs });
    }
    expect(concat(got.map((p) => p.data))).toEqual(file);
    for (const p of got) expect(String.fromCharCode(...p.data.subarray(0, 4))).toBe('OggS');
    const times = got.map((p) => p.atMs as number);
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
    expect(times[0]).toBe(0);
    expect(times.at(-1)).toBeGreaterThan(1_500); // pages of 0.5 s: the last one starts after 2 s
    expect(tally.endMs).toBeGreaterThan(2_900);
    expect(tally.endMs).toBeLessThan(3_100);
  });

  it('passes bytes that are not Ogg through untimed', async () => {
    const junk = bytes(100);
    const got: AudioPiece[] = [];
    for await (const p of frameAudio(pieces(junk, [30, 70]), { encoding: 'ogg_opus', sample_rate: 48_000, channels: 1 }, { maxChunkBytes: 64 })) got.push(p);
    expect(concat(got.map((p) => p.data))).toEqual(junk);
    expect(got.every((p) => p.atMs === undefined && p.data.length <= 64)).toBe(true);
  });

  it('times raw Opus packets by their TOC byte and passes webm through', async () => {
    const packets = [Uint8Array.of(0xfc, 1, 2), Uint8Array.of(0x78, 3), Uint8Array.of(0xfb, 0x03, 9)];
    const got: AudioPiece[] = [];
    for await (const p of frameAudio(pieces(concat(packets), [3, 2, 3]), { encoding: 'opus', sample_rate: 48_000, channels: 1 }, { maxChunkBytes: 65_536 })) got.push(p);
    expect(got.map((p) => p.atMs)).toEqual([0, 20, 40]);
    const webm: AudioPiece[] = [];
    for await (const p of frameAudio(pieces(bytes(100), [100]), { encoding: 'webm_opus', sample_rate: 48_000, channels: 1 }, { maxChunkBytes: 40 })) webm.push(p);
    expect(webm.map((p) => [p.data.length, p.atMs])).toEqual([[40, undefined], [40, undefined], [20, undefined]]);
  });

  it('opusPacketMs reads frame size and count', () => {
    expect(opusPacketMs(Uint8Array.of(0xfc))).toBe(20); // CELT FB 20 ms, one frame
    expect(opusPacketMs(Uint8Array.of(0x78))).toBe(20); // hybrid FB 20 ms
    expect(opusPacketMs(Uint8Array.of(0x08))).toBe(20); // SILK NB 20 ms
    expect(opusPacketMs(Uint8Array.of(0x19))).toBe(120); // SILK MB 60 ms, two frames
    expect(opusPacketMs(Uint8Array.of(0xe3, 0x06))).toBe(15); // CELT 2.5 ms, six frames (code 3)
    expect(opusPacketMs(new Uint8Array(0))).toBe(0);
  });
});

describe('parseAudioFormat', () => {
  it('reads ENCODING[:RATE]', () => {
    expect(parseAudioFormat('pcm16:16000')).toEqual(PCM16_16K);
    expect(parseAudioFormat('f32:48000')).toEqual({ encoding: 'f32', sample_rate: 48_000, channels: 1 });
    expect(parseAudioFormat('mulaw')).toEqual({ encoding: 'mulaw', sample_rate: 8_000, channels: 1 });
    expect(parseAudioFormat('ogg_opus')).toEqual({ encoding: 'ogg_opus', sample_rate: 48_000, channels: 1 });
    expect(parseAudioFormat('pcm16')).toMatch(/needs a sample rate/);
    expect(parseAudioFormat('pcm16:44100')).toMatch(/8000, 16000, 24000, 48000/);
    expect(parseAudioFormat('mulaw:16000')).toMatch(/8000/);
    expect(parseAudioFormat('mp3')).toMatch(/must be/);
  });
});
