// `npm run bench:relay`: relay benchmark. In one run, for each transport and each upstream API
// (TGI native SSE, the OpenAI-compatible Messages API, SageMaker response streaming), it measures
// tokens read directly from the simulator and tokens read through the gateway at the same fixed
// offered load (N concurrent streams through the gateway), side by side in one phase, with a bare
// TCP pipe as calibration. The simulated fleet, the gateway and the pipe each run as their own
// process; token writes and arrivals are stamped with CLOCK_MONOTONIC, one clock for all of them.
// The gateway reports its own CPU time and RSS. Writes loadtest/reports/relay-<date>.{json,md}.
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { startSimFleet, type SimFleetProc } from './relay-sim.ts';
import { offNoiseProbe, startNoiseProbe, type NoiseProbe } from './noise-probe-proc.ts';
import { parseGatewayBuild, prepareGateway, parseGatewayGc, gcLabel } from './gateway-build.ts';
import { bucketQuantile, freePort, procCpuSeconds, startGatewayProc, type GatewayProc } from './gateway-proc.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { runDirect, runGateway, openIdleSessions, settleLatencies, type DirectTarget, type PhaseResult, type RelayPath } from './relay-clients.ts';
import { r2, summarize } from './stats.ts';
import { measureMixed } from './relay-mixed.ts';
import { stealDelta, stealMsPerCore } from './proc-stat.ts';
import { renderRelayReport, type PathReport, type TransportReport } from './relay-report.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '200' },
    idle: { type: 'string', default: '1000' },
    /** The idle calibration process (noise-probe.ts): on | off. */
    'noise-probe': { type: 'string', default: 'on' },
    /** Streams of each reference group (direct, TCP pipe) run beside the gateway's in one phase. */
    'side-streams': { type: 'string', default: '50' },
    tokens: { type: 'string', default: '200' },
    'itl-ms': { type: 'string', default: '28' },
    'ttft-ms': { type: 'string', default: '180' },
    'ramp-ms': { type: 'string', default: '1000' },
    /** Repetitions per path (each one phase: gateway, direct and pipe groups side by side); the report shows
     *  the median repetition by added p99 and lists all of them. */
    repeat: { type: 'string', default: '5' },
    /** Repetitions of the side-by-side SageMaker vs TGI-native phases (0 = skip). */
    'mixed-repeat': { type: 'string', default: '5' },
    /** Streams per path in the side-by-side phases (default: half of --sessions, so the phase
     *  carries the same total load as the others). */
    'mixed-per-path': { type: 'string' },
    transports: { type: 'string', default: 'ws,uws' },
    paths: { type: 'string', default: 'tgi,openai,sagemaker' },
    /** Pin the gateway to the last core and this process (with the simulators, pipe and idle
     *  probe it starts) to the others, as bench:audio does (needs taskset; 'off' to share). */
    pin: { type: 'string', default: 'on' },
    /** Nice value for the gateway's threads (0 = as started). A negative value gives the gateway
     *  scheduling priority over the load generator and simulator, the way a latency-critical
     *  service is deployed on a shared host; it needs root. A supplementary measurement only. */
    'gateway-nice': { type: 'string', default: '0' },
    /** The gateway's V8 GC: auto (latency when pinned to one core, else default) | latency
     *  (--single-threaded-gc --max-semi-space-size=4) | default (gateway-build.ts parseGatewayGc). */
    'gateway-gc': { type: 'string', default: 'auto' },
    /** How the gateway runs: dist (the production build, compiled for this run) | tsx (the sources). */
    gateway: { type: 'string', default: 'dist' },
    /** Report file name stem (default relay-<date>). */
    name: { type: 'string' },
    out: { type: 'string', default: fileURLToPath(new URL('../reports', import.meta.url)) },
  },
});
const N = Number(values.sessions);
const IDLE = Number(values.idle);
const SIDE = Number(values['side-streams']);
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
const GATEWAY_NICE = Number(values['gateway-nice']);
if (!Number.isInteger(GATEWAY_NICE) || GATEWAY_NICE < -20 || GATEWAY_NICE > 19) throw new Error('--gateway-nice must be an integer from -20 to 19');
const GATEWAY_BUILD = parseGatewayBuild(values.gateway);
const PIN = values.pin === 'on' && CORES >= 2 && spawnSync('taskset', ['-V']).status === 0;
if (PIN) spawnSync('taskset', ['-a', '-p', '-c', `0-${CORES - 2}`, String(process.pid)]);
const GATEWAY_GC = parseGatewayGc(values['gateway-gc'], PIN);

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

async function measurePath(gw: GatewayProc, fleet: SimFleetProc, noise: NoiseProbe, path: RelayPath, target: DirectTarget, seedBase: number, pipe?: { url: string; pid: number }): Promise<PathReport> {
  const pipeUrl = pipe?.url;
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const active = await openIdleSessions(gw.url, N);
  await sleep(300);
  const s0 = await gw.sample();
  let peak = s0.rssBytes;
  // Peak RSS from /proc: a /metrics scrape mid-phase would stall the gateway's loop.
  const sampler = setInterval(() => (peak = Math.max(peak, gw.rssFromProc())), 250);
  await noise.take();
  const cpu0 = { self: process.cpuUsage(), sim: procCpuSeconds(fleet.pid), pipe: pipe ? procCpuSeconds(pipe.pid) : 0, t: performance.now(), steal: stealMsPerCore() };
  eld.enable();
  // Side by side: the gateway's streams, the direct readers and the TCP-pipe readers run in the same
  // phase on interleaved start schedules, so every group lives through the same machine noise
  // (other tenants, the load generator's own stalls); "added" compares groups of one phase.
  const [through, direct, floor] = await Promise.all([
    runGateway(active, TOKENS, seedBase + 5000, RAMP, path),
    runDirect(target, SIDE, TOKENS, seedBase, RAMP),
    pipeUrl !== undefined ? runDirect({ ...target, url: pipeUrl }, SIDE, TOKENS, seedBase + 2500, RAMP) : Promise.resolve(undefined),
  ]);
  const self = process.cpuUsage(cpu0.self);
  const stealMs = stealDelta(cpu0.steal, stealMsPerCore());
  const wallS = (performance.now() - cpu0.t) / 1000;
  const machineCores = {
    loadGenerator: r2((self.user + self.system) / 1e6 / wallS),
    simulator: r2((procCpuSeconds(fleet.pid) - cpu0.sim) / wallS),
    pipe: pipe ? r2((procCpuSeconds(pipe.pid) - cpu0.pipe) / wallS) : 0,
  };
  const machineNoise = await noise.take();
  const emits = await fleet.takeEmits();
  for (const r of [through, direct, floor]) if (r !== undefined) settleLatencies(r, emits);
  eld.disable();
  clearInterval(sampler);
  const s1 = await gw.sample();
  for (const c of active) c.close();
  const d = phaseSummary(direct);
  const g = phaseSummary(through);
  const f = floor ? phaseSummary(floor) : undefined;
  const cpuS = s1.cpuS - s0.cpuS;
  console.log(
    `  [${path}] direct p50/p99 ${d.perTokenLatencyMs.p50}/${d.perTokenLatencyMs.p99} ms,${f ? ` tcp-pipe p50/p99 ${f.perTokenLatencyMs.p50}/${f.perTokenLatencyMs.p99} ms,` : ''} gateway p50/p99 ${g.perTokenLatencyMs.p50}/${g.perTokenLatencyMs.p99} ms, gateway-internal relay p50/p99 ≤ ${bucketQuantile(s0.relayBuckets, s1.relayBuckets, 0.5) * 1000}/${bucketQuantile(s0.relayBuckets, s1.relayBuckets, 0.99) * 1000} ms, gateway CPU ${r2((cpuS * 1e6) / Math.max(1, through.tokens))} µs/token (${r2(cpuS / through.seconds)} cores); cores load gen / sim / pipe ${machineCores.loadGenerator} / ${machineCores.simulator} / ${machineCores.pipe}; an idle process's timer late p99 ${machineNoise.p99Ms} ms, stalled > 2 ms ${machineNoise.stalledPct} % of the time; steal per core ${stealMs.join(' / ')} ms`,
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
    loadgenLoopDelayP99Ms: r2(eld.percentile(99) / 1e6),
    otherCores: machineCores,
    idleProcessNoise: machineNoise,
    stealMsPerCore: stealMs,
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
      idleStalledPct: r.idleProcessNoise.stalledPct,
      ...(r.stealMsPerCore !== undefined ? { stealMsPerCore: r.stealMsPerCore } : {}),
    })),
  };
}

async function main(): Promise<void> {
  // The simulated fleet runs in its own process (as TGI does in production): the direct readers
  // cross one process boundary, the gateway's streams two, the TCP pipe's two.
  const fleet = await startSimFleet({ ttftMs: TTFT, itlMs: ITL, tokens: TOKENS, smEndpoint: SM_ENDPOINT });
  const sim = { url: fleet.tgiUrl };
  const sm = { url: fleet.smUrl };
  console.log(`relay bench: ${N} concurrent streams x ${TOKENS} tokens, ITL ${ITL} ms, TTFT ${TTFT} ms, ramp ${RAMP} ms, ${IDLE} idle sessions; paths ${paths.join(',')}`);
  const targets: Record<RelayPath, DirectTarget> = {
    tgi: { path: 'tgi', url: sim.url },
    openai: { path: 'openai', url: sim.url },
    sagemaker: { path: 'sagemaker', url: sm.url, endpointName: SM_ENDPOINT },
  };
  const entry = prepareGateway(GATEWAY_BUILD);
  const reports: TransportReport[] = [];
  let seedBase = 1_000_000;
  const configFile = gatewayConfigFile(sim.url, sm.url);
  const pipe = await startPipe(Number(new URL(sim.url).port));
  // However this process ends, the pipe goes with it (it holds our stdout open otherwise).
  process.once('exit', () => pipe.child.kill('SIGTERM'));
  const noise = values['noise-probe'] === 'off' ? offNoiseProbe() : await startNoiseProbe();
  for (const transport of transports) {
    const gw = await startGatewayProc({
      entry,
      transport,
      tgiUrl: sim.url,
      env: { VLP_CONFIG: configFile, AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' },
      ...(PIN ? { cpu: CORES - 1 } : {}),
      nice: GATEWAY_NICE,
      gc: GATEWAY_GC,
    });
    try {
      await sleep(500);
      const s0 = await gw.sample();
      const idle = await openIdleSessions(gw.url, IDLE);
      await sleep(1500);
      const s1 = await gw.sample();
      console.log(`[${transport}] idle: ${IDLE} sessions, RSS ${r2(s0.rssBytes / 2 ** 20)} → ${r2(s1.rssBytes / 2 ** 20)} MiB`);
      // Warm-up (JIT, and the upstream connection pools filled to the phases' concurrency) on
      // every path, not measured.
      for (const path of paths) {
        const warm = await openIdleSessions(gw.url, N);
        await runGateway(warm, 20, (seedBase += 10_000), 0, path);
        await runDirect(targets[path], SIDE, 20, (seedBase += 10_000));
        await fleet.takeEmits();
        for (const c of warm) c.close();
      }
      const perPath: PathReport[] = [];
      for (const path of paths) {
        const reps: PathReport[] = [];
        for (let k = 0; k < REPEAT; k++) reps.push(await measurePath(gw, fleet, noise, path, targets[path], (seedBase += 10_000), path !== 'sagemaker' ? { url: pipe.url, pid: pipe.child.pid ?? -1 } : undefined));
        perPath.push(medianRepetition(reps));
      }
      const mixed =
        MIXED_REPEAT > 0 && paths.includes('tgi') && paths.includes('sagemaker')
          ? await measureMixed(
              { gatewayUrl: gw.url, streamsPerPath: MIXED_PER_PATH, directPerPath: Math.max(1, Math.floor(SIDE / 2)), tokens: TOKENS, rampMs: RAMP, repeat: MIXED_REPEAT, takeEmits: () => fleet.takeEmits(), nextSeedBase: () => (seedBase += 10_000) },
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
          rssPerSessionKiB: IDLE > 0 ? r2((s1.rssBytes - s0.rssBytes) / IDLE / 1024) : Number.NaN,
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
  await fleet.stop();
  noise.stop();
  const meta = {
    date: new Date().toISOString(),
    params: { gateway: entry.label, pinned: PIN, gatewayGc: gcLabel(GATEWAY_GC), gatewayNice: GATEWAY_NICE, repeat: REPEAT, concurrentStreams: N, sideStreams: SIDE, startRampMs: RAMP, tokensPerStream: TOKENS, itlMs: ITL, ttftMs: TTFT, jitter: 0.2, idleSessions: IDLE },
    targets: { addedPerTokenP99Ms: 2, idleRssPerSessionKiB: 64, sagemakerOverTgiP99Ms: 1 },
  };
  const { md, json } = renderRelayReport(meta, reports);
  const out = String(values.out);
  mkdirSync(out, { recursive: true });
  const stem = values.name ?? `relay-${meta.date.slice(0, 10)}`;
  if (!/^[\w.-]+$/.test(stem)) throw new Error('--name may hold only letters, digits, _ . -');
  writeFileSync(`${out}/${stem}.json`, json);
  writeFileSync(`${out}/${stem}.md`, md);
  console.log(md);
  console.log(`report written to ${out}/${stem}.{json,md}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
