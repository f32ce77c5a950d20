// Child process of the audio benchmark: the simulated WhisperLive server (and a simulated TGI for
// the voice turns that final transcripts start), out of the gateway's and the load generator's
// processes, so its CPU time is its own and it does not block the load generator's scheduler.
// Started with fork() by audio-sim-proc.ts (for audio.ts); configuration as JSON in argv[2]; commands over IPC.
//
// Probe connections: WhisperLive connections whose options carry `language: null` (the bench's
// probe sessions send audio.start without a language; all others say "en") get the wall-clock
// arrival time of each audio frame recorded with the cumulative sample count, so the load
// generator can compute end-to-end latency (client send → frame read here) for those sessions.
import { performance } from 'node:perf_hooks';
import { startWhisperLiveSim } from '../../sim/asr/index.ts';
import { startTgiSim } from '../../sim/tgi/index.ts';

export interface AudioSimConfig {
  whisperLive: { endSilenceMs: number; finalizeDelayMs: number; modelLoadMs: number; partialEveryMs: number };
  tgi: { ttftMs: number; itlMs: number; answerTokens: number };
}

export type SimRequest =
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'ping' }
  | { id: number; cmd: 'probes-reset' }
  | { id: number; cmd: 'probe-count' }
  | { id: number; cmd: 'probes' }
  | { id: number; cmd: 'exit' };

export interface SimStatsReply {
  cpuUs: number;
  /** The same split into user and system time, µs. */
  cpuUserUs: number;
  cpuSysUs: number;
  rssBytes: number;
  /** WhisperLive: frames and bytes (float32) received, clients ready, connections since start. */
  frames: number;
  bytes: number;
  clients: number;
  open: number;
  connections: number;
  segmentsMessages: number;
  rejectedFull: number;
  tgiRequests: number;
}

/** Per probe (in order of connection): cumulative samples received and wall-clock arrival, ms. */
export type ProbeSeries = { samples: number[]; atMs: number[] }[];

const wallNow = (): number => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as AudioSimConfig;
  const wl = await startWhisperLiveSim({
    maxClients: 100_000,
    maxConnectionTimeS: 86_400,
    modelLoadMs: cfg.whisperLive.modelLoadMs,
    endSilenceMs: cfg.whisperLive.endSilenceMs,
    finalizeDelayMs: cfg.whisperLive.finalizeDelayMs,
    partialEveryMs: cfg.whisperLive.partialEveryMs,
    jitter: 0,
    // Only the probe connections emit an event per frame (the others are most of the load).
    watchAudio: (e) => e.options.language === null,
  });
  const tgi = await startTgiSim({
    ttftMs: cfg.tgi.ttftMs,
    itlMs: cfg.tgi.itlMs,
    jitter: 0,
    perInputTokenMs: 0,
    loadFactor: 0,
    maxConcurrent: 100_000,
    keepAliveMs: 0,
    answerTokens: { min: cfg.tgi.answerTokens, max: cfg.tgi.answerTokens },
  });
  let tgiRequests = 0;
  tgi.events.on('request', () => tgiRequests++);

  let probeIds = new Map<number, number>(); // sim connection id → probe index
  let series: ProbeSeries = [];
  wl.events.on('connection', (e) => {
    if (e.options.language !== null) return;
    probeIds.set(e.id, series.length);
    series.push({ samples: [], atMs: [] });
  });
  wl.events.on('audio', (e) => {
    const k = probeIds.get(e.id);
    if (k === undefined) return;
    const s = series[k] as ProbeSeries[number];
    s.samples.push(e.bytes / 4);
    s.atMs.push(wallNow());
  });

  const reply = (id: number, body: unknown): void => {
    process.send?.({ id, body });
  };
  process.on('message', (m: SimRequest) => {
    switch (m.cmd) {
      case 'ping':
        return reply(m.id, wallNow());
      case 'stats': {
        const c = process.cpuUsage();
        const s = wl.stats();
        const body: SimStatsReply = {
          cpuUs: c.user + c.system,
          cpuUserUs: c.user,
          cpuSysUs: c.system,
          rssBytes: process.memoryUsage.rss(),
          frames: s.frames,
          bytes: s.bytes,
          clients: s.clients,
          open: s.open,
          connections: s.connections,
          segmentsMessages: s.segmentsMessages,
          rejectedFull: s.rejectedFull,
          tgiRequests,
        };
        return reply(m.id, body);
      }
      case 'probes-reset':
        probeIds = new Map();
        series = [];
        return reply(m.id, true);
      case 'probe-count':
        return reply(m.id, series.length);
      case 'probes':
        return reply(m.id, series);
      case 'exit':
        void Promise.all([wl.close(), tgi.close()]).then(() => {
          reply(m.id, true);
          process.exit(0);
        });
        return;
    }
  });
  process.send?.({ id: 0, body: { whisperLiveUrl: wl.url, tgiUrl: tgi.url } });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
