// `npm run bench:relay`: relay benchmark. In one run, for each transport, it measures tokens read
// directly from the simulated TGI's SSE stream and tokens read through the gateway, at the same
// fixed offered load (N concurrent streams). The simulator runs in this process so token emit
// times and arrival times share one clock; the gateway runs as its own process and reports its
// own CPU time and RSS. Writes loadtest/reports/relay-<date>.{json,md}.
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startTgiSim } from '../../sim/tgi/index.ts';
import { startGatewayProc } from './gateway-proc.ts';
import { runDirect, runGateway, openIdleSessions, type PhaseResult } from './relay-clients.ts';
import { r2, summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '200' },
    idle: { type: 'string', default: '1000' },
    tokens: { type: 'string', default: '200' },
    'itl-ms': { type: 'string', default: '28' },
    'ttft-ms': { type: 'string', default: '180' },
    transports: { type: 'string', default: 'ws,uws' },
    'ramp-ms': { type: 'string', default: '1000' },
    out: { type: 'string', default: fileURLToPath(new URL('../reports', import.meta.url)) },
  },
});
const N = Number(values.sessions);
const IDLE = Number(values.idle);
const TOKENS = Number(values.tokens);
const ITL = Number(values['itl-ms']);
const TTFT = Number(values['ttft-ms']);
const RAMP = Number(values['ramp-ms']);
const transports = String(values.transports).split(',') as ('ws' | 'uws')[];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TransportReport {
  transport: 'ws' | 'uws';
  idle: { sessions: number; rssPerSessionKiB: number; rssBeforeMiB: number; rssAfterMiB: number };
  direct: ReturnType<typeof phaseSummary>;
  gateway: ReturnType<typeof phaseSummary>;
  addedPerTokenMs: { p50: number; p99: number };
  addedTtftMs: { p50: number; p99: number };
  gatewayCpu: { seconds: number; usPerToken: number; cores: number };
  activeRssPerSessionKiB: number;
  peakRssMiB: number;
}

function phaseSummary(p: PhaseResult) {
  const lat = summarize(p.tokenLatencyMs);
  const ttft = summarize(p.ttftMs);
  return {
    streams: p.streams,
    completed: p.completed,
    tokens: p.tokens,
    missingEmits: p.missingEmits,
    seconds: r2(p.seconds),
    tokensPerSec: Math.round(p.tokens / p.seconds),
    perTokenLatencyMs: { p50: r2(lat.p50), p90: r2(lat.p90), p99: r2(lat.p99), max: r2(lat.max) },
    ttftMs: { p50: r2(ttft.p50), p99: r2(ttft.p99) },
  };
}

async function main(): Promise<void> {
  const sim = await startTgiSim({
    ttftMs: TTFT,
    itlMs: ITL,
    jitter: 0.2,
    loadFactor: 0,
    maxConcurrent: 100_000,
    traceEmits: true,
    answerTokens: { min: TOKENS * 4, max: TOKENS * 4 },
  });
  const emits = new Map<number, Float64Array>();
  sim.events.on('token-emitted', (e) => {
    let a = emits.get(e.seed);
    if (!a) emits.set(e.seed, (a = new Float64Array(TOKENS + 2)));
    if (e.index < a.length) a[e.index] = e.atMs;
  });
  console.log(`relay bench: ${N} concurrent streams x ${TOKENS} tokens, ITL ${ITL} ms, TTFT ${TTFT} ms, ${IDLE} idle sessions; simulator at ${sim.url}`);
  const reports: TransportReport[] = [];
  let seedBase = 1_000_000;
  for (const transport of transports) {
    const gw = await startGatewayProc({ transport, tgiUrl: sim.url, env: { VLP_MAX_SESSIONS: String(IDLE + N + 100) } });
    try {
      await sleep(500);
      const s0 = await gw.sample();
      const idle = await openIdleSessions(gw.url, IDLE);
      await sleep(1500);
      const s1 = await gw.sample();
      console.log(`[${transport}] idle: ${IDLE} sessions, RSS ${r2(s0.rssBytes / 2 ** 20)} → ${r2(s1.rssBytes / 2 ** 20)} MiB`);

      // Warm-up (JIT, connection pools) on both paths, not measured.
      const warm = await openIdleSessions(gw.url, Math.min(N, 50));
      await runGateway(warm, 20, (seedBase += 10_000), emits);
      await runDirect(sim.url, Math.min(N, 50), 20, (seedBase += 10_000), emits);
      for (const c of warm) c.close();
      const active = await openIdleSessions(gw.url, N);
      await sleep(500);

      const eld = monitorEventLoopDelay({ resolution: 1 });
      eld.enable();
      const direct = await runDirect(sim.url, N, TOKENS, (seedBase += 10_000), emits, RAMP);
      eld.disable();
      const loadgenLagDirect = { p50: r2(eld.percentile(50) / 1e6), p99: r2(eld.percentile(99) / 1e6) };
      eld.reset();
      console.log(`[${transport}] direct: ${direct.tokens} tokens in ${r2(direct.seconds)} s; load-generator loop delay p99 ${loadgenLagDirect.p99} ms`);

      const s2 = await gw.sample(); // idle + N connected sessions, before their turns
      let peak = s2.rssBytes;
      const c0 = s2;
      // Peak RSS from /proc (a /metrics scrape mid-phase would stall the gateway's loop).
      const sampler = setInterval(() => (peak = Math.max(peak, gw.rssFromProc())), 250);
      eld.enable();
      const through = await runGateway(active, TOKENS, (seedBase += 10_000), emits, RAMP);
      clearInterval(sampler);
      const c1 = await gw.sample();
      peak = Math.max(peak, c1.rssBytes);
      eld.disable();
      const loadgenLagGateway = { p50: r2(eld.percentile(50) / 1e6), p99: r2(eld.percentile(99) / 1e6) };
      console.log(`[${transport}] gateway: ${through.tokens} tokens in ${r2(through.seconds)} s; load-generator loop delay p99 ${loadgenLagGateway.p99} ms`);
      for (const c of [...idle, ...active]) c.close();

      const d = phaseSummary(direct);
      const g = phaseSummary(through);
      const cpuS = c1.cpuS - c0.cpuS;
      reports.push({
        transport,
        idle: {
          sessions: IDLE,
          rssPerSessionKiB: r2((s1.rssBytes - s0.rssBytes) / IDLE / 1024),
          rssBeforeMiB: r2(s0.rssBytes / 2 ** 20),
          rssAfterMiB: r2(s1.rssBytes / 2 ** 20),
        },
        direct: d,
        gateway: g,
        addedPerTokenMs: { p50: r2(g.perTokenLatencyMs.p50 - d.perTokenLatencyMs.p50), p99: r2(g.perTokenLatencyMs.p99 - d.perTokenLatencyMs.p99) },
        addedTtftMs: { p50: r2(g.ttftMs.p50 - d.ttftMs.p50), p99: r2(g.ttftMs.p99 - d.ttftMs.p99) },
        gatewayCpu: { seconds: r2(cpuS), usPerToken: r2((cpuS * 1e6) / Math.max(1, through.tokens)), cores: r2(cpuS / through.seconds) },
        activeRssPerSessionKiB: r2((peak - s2.rssBytes) / N / 1024),
        peakRssMiB: r2(peak / 2 ** 20),
      });
    } finally {
      await gw.stop();
    }
  }
  await sim.close();
  writeReport(reports);
}

function writeReport(reports: TransportReport[]): void {
  const date = new Date().toISOString().slice(0, 10);
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    params: { concurrentStreams: N, startRampMs: RAMP, tokensPerStream: TOKENS, itlMs: ITL, ttftMs: TTFT, jitter: 0.2, idleSessions: IDLE },
    targets: { addedPerTokenP99Ms: 2, idleRssPerSessionKiB: 64 },
  };
  const out = String(values.out);
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/relay-${date}.json`, JSON.stringify({ meta, reports }, null, 2) + '\n');
  const lines: string[] = [
    `# Relay benchmark — ${meta.date}`,
    '',
    `Machine: ${meta.cpus} × ${meta.cpuModel}, Node ${meta.node}. Load: ${N} concurrent streams × ${TOKENS} tokens (starts spread over ${RAMP} ms, same schedule on both paths), simulated TGI ITL ${ITL} ms ±20 %, TTFT ${TTFT} ms; ${IDLE} idle sessions held open during the run.`,
    'Simulator and load generator share one process (one clock for emit and arrival times); the gateway runs in its own process and reports its own CPU and RSS.',
    'Per-token latency = arrival at the client − the simulator\'s write of that token. "Added" = gateway path − direct path, same run, same offered load.',
    '',
    '| transport | per-token p50 direct / gateway (ms) | per-token p99 direct / gateway (ms) | added p50 / p99 (ms) | TTFT p50 direct / gateway (ms) | tokens/s | gateway CPU µs/token | gateway cores | RSS/idle session (KiB) | RSS/active session (KiB) | peak RSS (MiB) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of reports) {
    lines.push(
      `| ${r.transport} | ${r.direct.perTokenLatencyMs.p50} / ${r.gateway.perTokenLatencyMs.p50} | ${r.direct.perTokenLatencyMs.p99} / ${r.gateway.perTokenLatencyMs.p99} | ${r.addedPerTokenMs.p50} / ${r.addedPerTokenMs.p99} | ${r.direct.ttftMs.p50} / ${r.gateway.ttftMs.p50} | ${r.gateway.tokensPerSec} | ${r.gatewayCpu.usPerToken} | ${r.gatewayCpu.cores} | ${r.idle.rssPerSessionKiB} | ${r.activeRssPerSessionKiB} | ${r.peakRssMiB} |`,
    );
  }
  lines.push('', '## Targets', '');
  for (const r of reports) {
    const lat = r.addedPerTokenMs.p99 <= 2 ? 'met' : 'NOT met';
    const mem = r.idle.rssPerSessionKiB <= 64 ? 'met' : 'NOT met';
    lines.push(`- ${r.transport}: added per-token p99 ${r.addedPerTokenMs.p99} ms (target ≤ 2 ms: ${lat}); RSS per idle session ${r.idle.rssPerSessionKiB} KiB (target ≤ 64 KiB: ${mem}); streams completed ${r.gateway.completed}/${r.gateway.streams}.`);
  }
  lines.push('');
  writeFileSync(`${out}/relay-${date}.md`, lines.join('\n'));
  console.log(lines.join('\n'));
  console.log(`\nreport written to ${out}/relay-${date}.{json,md}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
