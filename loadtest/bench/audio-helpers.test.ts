// Pure helpers of the audio benchmark: histogram quantiles, Prometheus parsing, pacing, probe
// matching, CPU profile summary. Fast: no processes, no sockets.
import { describe, expect, it } from 'vitest';
import { bucketTotal, countAtOrBelow, highestBucket, interpolatedQuantile, LinearHistogram } from './histogram.ts';
import { histogramBuckets, metricValue } from './gateway-proc.ts';
import { chunkIndexAt, diffCounters, encodeChunks, probeLatencies, speechLoop, startTimes, wsClientFrame, SAMPLES_PER_CHUNK, type LoadCounters } from './audio-clients.ts';
import { shortUrl, topSelfTime, type CpuProfile } from './cpuprofile.ts';
import { largestMeeting, type PointReport } from './audio-report.ts';
import { createServerCodec } from '../../protocol/codec.ts';
import * as wsModule from 'ws';

const cum = (entries: [number, number][]): Map<number, number> => new Map(entries);

describe('cumulative histogram deltas', () => {
  // Buckets 1, 2, 5, +Inf (seconds): before has 10 in ≤1; after adds 50 in ≤1, 30 in (1,2], 20 in (2,5].
  const before = cum([[1, 10], [2, 10], [5, 10], [Infinity, 10]]);
  const after = cum([[1, 60], [2, 90], [5, 110], [Infinity, 110]]);

  it('counts the observations between the scrapes', () => {
    expect(bucketTotal(before, after)).toBe(100);
    expect(countAtOrBelow(before, after, 2)).toBe(80);
    expect(() => countAtOrBelow(before, after, 3)).toThrow(/not a bucket bound/);
  });

  it('interpolates linearly within the bucket (first bucket from 0)', () => {
    expect(interpolatedQuantile(before, after, 0.25)).toBeCloseTo(0.5); // 25 of the 50 in [0,1]
    expect(interpolatedQuantile(before, after, 0.5)).toBeCloseTo(1); // exactly the 50th
    expect(interpolatedQuantile(before, after, 0.65)).toBeCloseTo(1.5); // 15 of the 30 in (1,2]
    expect(interpolatedQuantile(before, after, 0.99)).toBeCloseTo(2 + (3 * 19) / 20);
    expect(interpolatedQuantile(before, after, 1)).toBeCloseTo(5);
    expect(highestBucket(before, after)).toBe(5);
  });

  it('skips empty buckets and answers the largest finite bound in +Inf', () => {
    const a = cum([[1, 0], [2, 90], [5, 90], [Infinity, 100]]);
    const z = cum([[1, 0], [2, 0], [5, 0], [Infinity, 0]]);
    expect(interpolatedQuantile(z, a, 0.5)).toBeCloseTo(1 + 50 / 90); // the 50th of 100: 50 of the 90 in (1,2]
    expect(interpolatedQuantile(z, a, 0.95)).toBe(5);
    expect(highestBucket(z, a)).toBe(Infinity);
    expect(interpolatedQuantile(z, z, 0.5)).toBeNaN();
  });
});

describe('Prometheus exposition parsing', () => {
  const text = [
    '# HELP vlp_audio_forward_seconds x',
    '# TYPE vlp_audio_forward_seconds histogram',
    'vlp_audio_forward_seconds_bucket{le="0.0005"} 7',
    'vlp_audio_forward_seconds_bucket{le="0.005"} 9',
    'vlp_audio_forward_seconds_bucket{le="+Inf"} 10',
    'vlp_audio_forward_seconds_sum 0.02',
    'vlp_audio_forward_seconds_count 10',
    'vlp_audio_chunks_total 1234',
    'vlp_audio_dropped_ms_total 0',
    'vlp_audio_chunks_total_other 5',
  ].join('\n');

  it('reads an unlabelled value and the buckets of a histogram', () => {
    expect(metricValue(text, 'vlp_audio_chunks_total')).toBe(1234);
    expect(metricValue(text, 'vlp_audio_dropped_ms_total')).toBe(0);
    expect(metricValue(text, 'vlp_missing')).toBeNaN();
    expect([...histogramBuckets(text, 'vlp_audio_forward_seconds')]).toEqual([
      [0.0005, 7],
      [0.005, 9],
      [Infinity, 10],
    ]);
  });
});

describe('LinearHistogram', () => {
  it('gives conservative quantiles (bin upper edges), the share at or below, overflow', () => {
    const h = new LinearHistogram(1, 100);
    for (let i = 0; i < 100; i++) h.add(i + 0.5); // 0.5 .. 99.5
    expect(h.quantile(0.5)).toBe(50);
    expect(h.quantile(0.99)).toBe(99); // the 99th value, 98.5, is in bin [98, 99)
    expect(h.quantile(1)).toBe(99.5); // capped at the max
    expect(h.fractionAtOrBelow(10)).toBeCloseTo(0.1);
    h.add(500);
    expect(h.overflow).toBe(1);
    expect(h.quantile(1)).toBe(500);
    h.add(-3); // clamped to 0
    expect(h.count).toBe(102);
    h.reset();
    expect(h.quantile(0.5)).toBeNaN();
  });
});

describe('pacing and content', () => {
  it('spreads session starts over one period; chunk indices of a time', () => {
    expect([...startTimes(100, 4, 20)]).toEqual([100, 105, 110, 115]);
    expect(chunkIndexAt(1720)).toBe(85); // samples of 1700..1720 ms
    expect(chunkIndexAt(1721)).toBe(86);
    expect(chunkIndexAt(0)).toBe(0);
  });

  it('pads a clip with silence to the period, whole chunks', () => {
    const clip = new Int16Array(1000).fill(7);
    const loop = speechLoop(clip, 100); // 1600 samples
    expect(loop.length).toBe(1600);
    expect(loop[999]).toBe(7);
    expect(loop[1000]).toBe(0);
  });

  it('encodes each chunk into its own bytes (the codec reuses one buffer)', () => {
    const pcm = new Int16Array(SAMPLES_PER_CHUNK * 2 + 10);
    pcm.fill(1, 0, SAMPLES_PER_CHUNK);
    pcm.fill(2, SAMPLES_PER_CHUNK);
    const frames = encodeChunks(pcm);
    expect(frames).toHaveLength(3);
    const server = createServerCodec('vlp.v1.msgpack');
    const firsts = frames.map((f) => {
      const r = server.decode(f, true);
      if (!r.ok || r.msg.t !== 'audio.chunk') throw new Error('not an audio.chunk');
      expect(r.msg.data.byteLength).toBe(SAMPLES_PER_CHUNK * 2);
      return new Int16Array(r.msg.data.slice().buffer)[0];
    });
    expect(firsts).toEqual([1, 2, 2]);
  });

  it('pre-builds whole client frames: what ws sends with a zero masking key', () => {
    const { Sender } = wsModule as unknown as { Sender: { frame: (data: Buffer, o: Record<string, unknown>) => Buffer[] } };
    for (const n of [0, 5, 125, 126, 663, 65_535, 65_536]) {
      const payload = Buffer.alloc(n, 0xa5);
      const ws = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 2, mask: true, readOnly: false, rsv1: false, maskBuffer: Buffer.alloc(4), generateMask: (m: Buffer) => void m.fill(0) }));
      expect(Buffer.compare(wsClientFrame(payload), ws), `n=${n}`).toBe(0);
    }
  });
});

describe('probe latencies', () => {
  it('matches chunks to simulator frames by cumulative samples, within the window, with the clock offset', () => {
    const h = new LinearHistogram(0.01, 100);
    // Chunk k sent at 1000 + 20k (our wall clock); the simulator's clock is 500 ms ahead.
    const sent = [[1000, 1020, 1040, 1060]];
    // Frames: chunk 0 alone, chunks 1+2 merged (one frame), chunk 3 alone.
    const sim = [{ samples: [320, 960, 1280], atMs: [1501, 1543, 1562] }];
    const r = probeLatencies(sent, sim, 500, 1000, 1060, h);
    expect(r).toEqual({ matched: 3, unmatched: 1 }); // chunk 1 has no frame of its own
    expect(h.count).toBe(3);
    expect(h.max).toBeCloseTo(3); // chunk 2: 1543 − 500 − 1040
    const w = new LinearHistogram(0.01, 100);
    expect(probeLatencies(sent, sim, 500, 1030, 2000, w)).toEqual({ matched: 2, unmatched: 0 });
  });
});

describe('counters and verdicts', () => {
  it('diffs load counters, error codes included', () => {
    const a = { framesIn: 1, asrLagFrames: 0, asrLagMs: 0, errors: { AUDIO_TOO_FAST: 1 }, vadStart: 0, vadEnd: 0, partials: 0, finals: 0, turnsStarted: 0, genTokens: 0, genDone: 0, turnsCancelled: 0, badFrames: 0, closed: 0 } satisfies LoadCounters;
    const b = { ...a, framesIn: 5, finals: 2, errors: { AUDIO_TOO_FAST: 3, X: 1 } };
    const d = diffCounters(a, b);
    expect(d.framesIn).toBe(4);
    expect(d.finals).toBe(2);
    expect(d.errors).toEqual({ AUDIO_TOO_FAST: 2, X: 1 });
  });

  it('finds the largest N meeting the target per transport', () => {
    const p = (transport: 'ws' | 'uws', sessions: number, ok: boolean, gw = ok) => ({ transport, sessions, meetsTarget: ok, meetsGatewayTarget: gw }) as PointReport;
    const pts = [p('ws', 250, true), p('ws', 500, true), p('ws', 750, false, true), p('uws', 250, false), p('ws', 1000, false)];
    expect(largestMeeting(pts, 'ws')).toBe(500);
    expect(largestMeeting(pts, 'ws', 'meetsGatewayTarget')).toBe(750);
    expect(largestMeeting(pts, 'uws')).toBeUndefined();
  });
});

describe('CPU profile summary', () => {
  it('sums self time per function over call paths, from samples, idle apart', () => {
    const prof: CpuProfile = {
      startTime: 0,
      endTime: 10_000, // 10 ms, 10 samples → 1 ms each
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'forward', url: 'file:///work/main/src/session/voice.ts', lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'forward', url: 'file:///work/main/src/session/voice.ts', lineNumber: 9 } },
        { id: 4, callFrame: { functionName: '', url: 'file:///x/node_modules/ws/lib/sender.js', lineNumber: 0 } },
        { id: 5, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      ],
      samples: [2, 3, 3, 4, 5, 5, 5, 5, 5, 2],
    };
    const t = topSelfTime(prof, 5);
    expect(t.totalMs).toBe(10);
    expect(t.idleMs).toBe(5);
    expect(t.rows[0]).toMatchObject({ name: 'forward', where: 'src/session/voice.ts:10', selfMs: 4, pctOfAll: 40, pctOfBusy: 80 });
    expect(t.rows[1]).toMatchObject({ name: '(anonymous)', where: 'ws/lib/sender.js', selfMs: 1 });
    expect(t.rows.some((r) => r.name === '(idle)')).toBe(false);
    expect(shortUrl('node:events')).toBe('node:events');
  });
});
