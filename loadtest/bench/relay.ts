// `npm run bench:relay`: relay benchmark. In one run, for each transport and each upstream API
// (TGI native SSE, the OpenAI-compatible Messages API, SageMaker response streaming), it measures
// tokens read directly from the simulator and tokens read through the gateway at the same fixed
// offered load (N concurrent streams). The simulators run in this process so token emit times
// and arrival times share one clock; the gateway runs as its own process and reports its own CPU
// time and RSS. Writes loadtest/reports/relay-<date>.{json,md}.
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { startTgiSim } from '../../sim/tgi/index.ts';
import { startSageMakerSim } from '../../sim/sagemaker/index.ts';
import { bucketQuantile, freePort, startGatewayProc, type GatewayProc } from './gateway-proc.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { runDirect, runGateway, openIdleSessions, type DirectTarget, type PhaseResult, type RelayPath } from './relay-clients.ts';
import { r2, summarize } from './stats.ts';
import { measureMixed } from './relay-mixed.ts';
import { renderRelayReport, type PathReport, type TransportReport } from './relay-report.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '200' },
    idle: { type: 'string', default: '1000' },
    tokens: { type: 'string', default: '200' },
    'itl-ms': { type: 'string', default: '28' },
    'ttft-ms': { type: 'string', default: '180' },
    'ramp-ms': { type: 'string', default: '1000' },
    /** Repetitions per path (direct, floor and gateway phases alternate in each); the report shows
     *  the median repetition by added p99 and lists all of them. */
    repeat: { type: 'string', default: '3' },
    /** Repetitions of the side-by-side SageMaker vs TGI-native phases (0 = skip). */
    'mixed-repeat': { type: 'string', default: '3' },
    /** Streams per path in the side-by-side phases (default: half of --sessions, so the phase
     *  carries the same total load as the others). */
    'mixed-per-path': { type: 'string' },
    transports: { type: 'string', default: 'ws,uws' },
    paths: { type: 'string', default: 'tgi,openai,sagemaker' },
    /** Pin the gateway to the last core and this process to the others (needs taskset; 'off' to share). */
    pin: { type: 'string', default: 'off' },
    out: { type: 'string', default: fileURLToPath(new URL('../reports', import.meta.url)) },
  },
});
const N = Number(values.sessions);
const IDLE = Number(values.idle);
const TOKENS = Number(values.tokens);
const ITL = Number(values['itl-ms']);
const TTFT = Number(values['ttft-ms']);
const RAMP = Number(values['ramp-ms']);
const REPEAT = Math.max(1, Number(values.repeat));
const MIXED_REPEAT = Math.max(0, Number(values['mixed-repeat']));
const MIXED_PER_PATH = values['mixed-per-path'] !== undefined ? Number(values['mixed-per-path']) : Math.floor(N / 2);
const transports = String(values.transports).split(',') as ('ws' | 'uws')[];
const paths = String(values.paths).split(',') as RelayPath[];
const SM_ENDPOINT = 'bench-llm';
const CORES = os.cpus().length;
const PIN = values.pin === 'on' && CORES >= 2 && spawnSync('taskset', ['-V']).status === 0;
if (PIN) spawnSync('taskset', ['-a', '-p', '-c', `0-${CORES - 2}`, String(process.pid)]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function phaseSummary(p: PhaseResult) {
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

function gatewayConfigFile(tgiUrl: string, smUrl: string): string {
  const file = join(tmpdir(), `vlp-bench-${process.pid}.json`);
  const params = { max_new_tokens: TOKENS };
  writeFileSync(
    file,
    JSON.stringify({
      limits: { maxSessions: 100_000 },
      defaultModel: 'tgi',
      defaultVisionModel: 'vlm',
      models: [
        { id: 'tgi', kind: 'llm', backend: 'tgi', urls: [tgiUrl], template: 'llama2-chat', params },
        { id: 'openai', kind: 'llm', backend: 'openai', urls: [tgiUrl], template: 'server', params },
        { id: 'sagemaker', kind: 'llm', backend: 'sagemaker', template: 'llama2-chat', sagemaker: { endpointName: SM_ENDPOINT, endpointUrl: smUrl, region: 'us-east-1' }, params },
        { id: 'vlm', kind: 'vlm', backend: 'tgi', urls: [tgiUrl], template: 'idefics' },
      ],
    }),
  );
  return file;
}

/** Start the calibration TCP pipe (its own process) in front of `targetPort`; resolves its URL. */
async function startPipe(targetPort: number): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./tcp-pipe.ts', import.meta.url)), String(port), String(targetPort)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', () => reject(new Error('tcp pipe exited')));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function measurePath(gw: GatewayProc, path: RelayPath, target: DirectTarget, emits: Map<number, Float64Array>, seedBase: number, pipeUrl?: string): Promise<PathReport> {
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const active = await openIdleSessions(gw.url, N);
  await sleep(300);
  eld.enable();
  const direct = await runDirect(target, N, TOKENS, seedBase, emits, RAMP);
  eld.disable();
  const lagDirect = r2(eld.percentile(99) / 1e6);
  eld.reset();
  // Floor: the same streams through a bare TCP pipe process (two cross-process hops, no work).
  const floor = pipeUrl !== undefined ? await runDirect({ ...target, url: pipeUrl }, N, TOKENS, seedBase + 2500, emits, RAMP) : undefined;
  const s0 = await gw.sample();
  let peak = s0.rssBytes;
  // Peak RSS from /proc: a /metrics scrape mid-phase would stall the gateway's loop.
  const sampler = setInterval(() => (peak = Math.max(peak, gw.rssFromProc())), 250);
  eld.enable();
  const through = await runGateway(active, TOKENS, seedBase + 5000, emits, RAMP, path);
  eld.disable();
  clearInterval(sampler);
  const s1 = await gw.sample();
  for (const c of active) c.close();
  const d = phaseSummary(direct);
  const g = phaseSummary(through);
  const f = floor ? phaseSummary(floor) : undefined;
  const cpuS = s1.cpuS - s0.cpuS;
  console.log(
    `  [${path}] direct p50/p99 ${d.perTokenLatencyMs.p50}/${d.perTokenLatencyMs.p99} ms,${f ? ` tcp-pipe p50/p99 ${f.perTokenLatencyMs.p50}/${f.perTokenLatencyMs.p99} ms,` : ''} gateway p50/p99 ${g.perTokenLatencyMs.p50}/${g.perTokenLatencyMs.p99} ms, gateway-internal relay p50/p99 ≤ ${bucketQuantile(s0.relayBuckets, s1.relayBuckets, 0.5) * 1000}/${bucketQuantile(s0.relayBuckets, s1.relayBuckets, 0.99) * 1000} ms, gateway CPU ${r2((cpuS * 1e6) / Math.max(1, through.tokens))} µs/token`,
  );
  return {
    path,
    direct: d,
    gateway: g,
    addedPerTokenMs: { p50: r2(g.perTokenLatencyMs.p50 - d.perTokenLatencyMs.p50), p99: r2(g.perTokenLatencyMs.p99 - d.perTokenLatencyMs.p99) },
    ...(f ? { tcpPipeFloor: { perTokenLatencyMs: f.perTokenLatencyMs, addedP99Ms: r2(f.perTokenLatencyMs.p99 - d.perTokenLatencyMs.p99) } } : {}),
    addedTtftMs: { p50: r2(g.ttftMs.p50 - d.ttftMs.p50), p99: r2(g.ttftMs.p99 - d.ttftMs.p99) },
    gatewayCpu: { seconds: r2(cpuS), usPerToken: r2((cpuS * 1e6) / Math.max(1, through.tokens)), cores: r2(cpuS / through.seconds) },
    activeRssPerSessionKiB: r2((peak - s0.rssBytes) / N / 1024),
    peakRssMiB: r2(peak / 2 ** 20),
    loadgenLoopDelayP99Ms: { direct: lagDirect, gateway: r2(eld.percentile(99) / 1e6) },
    gatewayRelayMs: {
      p50: bucketQuantile(s0.relayBuckets, s1.relayBuckets, 0.5) * 1000,
      p99: bucketQuantile(s0.relayBuckets, s1.relayBuckets, 0.99) * 1000,
      p999: bucketQuantile(s0.relayBuckets, s1.relayBuckets, 0.999) * 1000,
    },
    gatewayLoopLagMs: { p99: r2(s1.loopLagP99S * 1000), max: r2(s1.loopLagMaxS * 1000) },
  };
}

/** The repetition with the median added p99 (a real, self-consistent measurement), carrying the
 *  key figures of every repetition. */
function medianRepetition(reps: PathReport[]): PathReport {
  const sorted = [...reps].sort((a, b) => a.addedPerTokenMs.p99 - b.addedPerTokenMs.p99);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)] as PathReport;
  return {
    ...mid,
    repetitions: reps.map((r) => ({
      directP99Ms: r.direct.perTokenLatencyMs.p99,
      gatewayP99Ms: r.gateway.perTokenLatencyMs.p99,
      addedP99Ms: r.addedPerTokenMs.p99,
      ...(r.tcpPipeFloor ? { tcpPipeAddedP99Ms: r.tcpPipeFloor.addedP99Ms } : {}),
      gatewayRelayP99Ms: r.gatewayRelayMs.p99,
      cpuUsPerToken: r.gatewayCpu.usPerToken,
    })),
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
    keepAliveMs: 0,
    answerTokens: { min: TOKENS * 4, max: TOKENS * 4 },
  });
  // Payload parts as the container writes them (as SageMaker relays them); the awkward splits are
  // covered by tests and would only load the load generator here.
  const sm = await startSageMakerSim({ endpoints: { [SM_ENDPOINT]: { tgiUrl: sim.url } }, chunking: 'events' });
  const emits = new Map<number, Float64Array>();
  sim.events.on('token-emitted', (e) => {
    let a = emits.get(e.seed);
    if (!a) emits.set(e.seed, (a = new Float64Array(TOKENS + 2)));
    if (e.index < a.length) a[e.index] = e.atMs;
  });
  console.log(`relay bench: ${N} concurrent streams x ${TOKENS} tokens, ITL ${ITL} ms, TTFT ${TTFT} ms, ramp ${RAMP} ms, ${IDLE} idle sessions; paths ${paths.join(',')}`);
  const targets: Record<RelayPath, DirectTarget> = {
    tgi: { path: 'tgi', url: sim.url },
    openai: { path: 'openai', url: sim.url },
    sagemaker: { path: 'sagemaker', url: sm.url, endpointName: SM_ENDPOINT },
  };
  const reports: TransportReport[] = [];
  let seedBase = 1_000_000;
  const configFile = gatewayConfigFile(sim.url, sm.url);
  const pipe = await startPipe(Number(new URL(sim.url).port));
  for (const transport of transports) {
    const gw = await startGatewayProc({
      transport,
      tgiUrl: sim.url,
      env: { VLP_CONFIG: configFile, AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' },
      ...(PIN ? { cpu: CORES - 1 } : {}),
    });
    try {
      await sleep(500);
      const s0 = await gw.sample();
      const idle = await openIdleSessions(gw.url, IDLE);
      await sleep(1500);
      const s1 = await gw.sample();
      console.log(`[${transport}] idle: ${IDLE} sessions, RSS ${r2(s0.rssBytes / 2 ** 20)} → ${r2(s1.rssBytes / 2 ** 20)} MiB`);
      // Warm-up (JIT, connection pools) on every path, not measured.
      for (const path of paths) {
        const warm = await openIdleSessions(gw.url, Math.min(N, 50));
        await runGateway(warm, 20, (seedBase += 10_000), emits, 0, path);
        await runDirect(targets[path], Math.min(N, 50), 20, (seedBase += 10_000), emits);
        for (const c of warm) c.close();
      }
      const perPath: PathReport[] = [];
      for (const path of paths) {
        const reps: PathReport[] = [];
        for (let k = 0; k < REPEAT; k++) reps.push(await measurePath(gw, path, targets[path], emits, (seedBase += 10_000), path === 'tgi' ? pipe.url : undefined));
        perPath.push(medianRepetition(reps));
      }
      const mixed =
        MIXED_REPEAT > 0 && paths.includes('tgi') && paths.includes('sagemaker')
          ? await measureMixed(
              { gatewayUrl: gw.url, streamsPerPath: MIXED_PER_PATH, tokens: TOKENS, rampMs: RAMP, repeat: MIXED_REPEAT, emits, nextSeedBase: () => (seedBase += 10_000) },
              targets.tgi,
              targets.sagemaker,
            )
          : undefined;
      if (mixed) console.log(`  [mixed tgi+sagemaker] SageMaker over TGI p99 per repetition: ${mixed.repetitions.map((k) => k.bOverA.p99).join(', ')} ms`);
      for (const c of idle) c.close();
      reports.push({
        transport,
        idle: {
          sessions: IDLE,
          rssPerSessionKiB: r2((s1.rssBytes - s0.rssBytes) / IDLE / 1024),
          rssBeforeMiB: r2(s0.rssBytes / 2 ** 20),
          rssAfterMiB: r2(s1.rssBytes / 2 ** 20),
        },
        paths: perPath,
        ...(mixed ? { mixed } : {}),
      });
    } finally {
      await gw.stop();
    }
  }
  pipe.child.kill('SIGTERM');
  await sm.close();
  await sim.close();
  const meta = {
    date: new Date().toISOString(),
    params: { pinned: PIN, repeat: REPEAT, concurrentStreams: N, startRampMs: RAMP, tokensPerStream: TOKENS, itlMs: ITL, ttftMs: TTFT, jitter: 0.2, idleSessions: IDLE },
    targets: { addedPerTokenP99Ms: 2, idleRssPerSessionKiB: 64, sagemakerOverTgiP99Ms: 1 },
  };
  const { md, json } = renderRelayReport(meta, reports);
  const out = String(values.out);
  mkdirSync(out, { recursive: true });
  const date = meta.date.slice(0, 10);
  writeFileSync(`${out}/relay-${date}.json`, json);
  writeFileSync(`${out}/relay-${date}.md`, md);
  console.log(md);
  console.log(`report written to ${out}/relay-${date}.{json,md}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
