// Renders the relay benchmark's JSON and Markdown report (figures, targets met or not).
import os from 'node:os';
import type { phaseSummary } from './relay.ts';
import type { RelayPath } from './relay-clients.ts';
import type { MixedReport } from './relay-mixed.ts';
import type { NoiseFigures } from './noise-probe.ts';
import { meanInterval, r2 } from './stats.ts';

type Phase = ReturnType<typeof phaseSummary>;

export interface PathReport {
  path: RelayPath;
  direct: Phase;
  gateway: Phase;
  addedPerTokenMs: { p50: number; p99: number };
  addedTtftMs: { p50: number; p99: number };
  gatewayCpu: { seconds: number; usPerToken: number; cores: number };
  activeRssPerSessionKiB: number;
  peakRssMiB: number;
  /** The load generator's own event-loop delay over the phase (1 ms resolution), ms. */
  loadgenLoopDelayP99Ms: number;
  /** CPU of the other processes over the phase, cores (/proc and process.cpuUsage). */
  otherCores: { loadGenerator: number; simulator: number; pipe: number };
  /** Calibration: how late an idle process on the same machine was woken during the phase. */
  idleProcessNoise: NoiseFigures;
  /** Time the hypervisor took each core (vCPU) from this VM during the phase, ms (/proc/stat,
   *  10 ms ticks; absent in reports written before it was recorded). */
  stealMsPerCore?: number[];
  /** vlp_token_relay_seconds over the phase (bucket upper bounds), ms. */
  gatewayRelayMs: { p50: number; p99: number; p999: number };
  /** prom-client event-loop lag of the gateway over the phase (10 ms resolution), ms. */
  gatewayLoopLagMs: { p99: number; max: number };
  /** Calibration: streams of the same API through a bare TCP pipe process, in the same phase
   *  (HTTP APIs only). */
  tcpPipeFloor?: { perTokenLatencyMs: { p50: number; p90: number; p99: number; max: number }; addedP99Ms: number };
  /** Key figures of every repetition (this report row is the median one by added p99). */
  repetitions?: { directP99Ms: number; gatewayP99Ms: number; addedP99Ms: number; tcpPipeAddedP99Ms?: number; gatewayRelayP99Ms: number; cpuUsPerToken: number; idleStalledPct: number; stealMsPerCore?: number[] }[];
}

export interface TransportReport {
  transport: 'ws' | 'uws';
  idle: { sessions: number; rssPerSessionKiB: number; rssBeforeMiB: number; rssAfterMiB: number };
  paths: PathReport[];
  /** SageMaker vs TGI-native streams side by side in the same phases. */
  mixed?: MixedReport;
}

interface Meta {
  date: string;
  params: { gateway: string; pinned: boolean; gatewayGc?: string; gatewayNice: number; repeat: number; concurrentStreams: number; sideStreams: number; startRampMs: number; tokensPerStream: number; itlMs: number; ttftMs: number; jitter: number; idleSessions: number };
  targets: { addedPerTokenP99Ms: number; idleRssPerSessionKiB: number; sagemakerOverTgiP99Ms: number };
}

/** "; steal per core (ms) a/b, …" over the repetitions, when they recorded it. */
function stealText(reps: NonNullable<PathReport['repetitions']>): string {
  if (!reps.every((k) => k.stealMsPerCore !== undefined)) return '';
  return `; hypervisor steal per core (ms, cores 0 / 1) ${reps.map((k) => (k.stealMsPerCore ?? []).join('/')).join(', ')}`;
}

const verdict = (ok: boolean): string => (ok ? 'met' : '**NOT met**');

export function renderRelayReport(meta: Meta, reports: TransportReport[]): { md: string; json: string } {
  const machine = { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown' };
  const p = meta.params;
  const lines: string[] = [
    `# Relay benchmark — ${meta.date}`,
    '',
    `Machine: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}. ${p.pinned ? 'The gateway process is pinned to the last core and the load generator, simulators, pipe and idle probe to the others (taskset), so they do not preempt each other.' : 'Gateway and load generator share all cores.'}${p.gatewayGc !== undefined ? ` Gateway GC: ${p.gatewayGc}.` : ''}${p.gatewayNice !== 0 ? ` The gateway's threads run at nice ${p.gatewayNice} (scheduling priority over the load generator, simulator and pipe, as a latency-critical service on a shared host would get): a supplementary measurement, not the default setup.` : ''} Offered load per phase: ${p.concurrentStreams} concurrent streams × ${p.tokensPerStream} tokens, simulated TGI ITL ${p.itlMs} ms ±${p.jitter * 100} %, TTFT ${p.ttftMs} ms, stream starts spread over ${p.startRampMs} ms (same schedule on both paths); ${p.idleSessions} idle sessions held open throughout.`,
    '',
    `Each upstream API is measured ${p.repeat} time(s). A repetition is one phase in which three groups of streams run side by side on interleaved start schedules: ${p.concurrentStreams} streams through the gateway, ${p.sideStreams} read directly from the simulator, and (TGI native and Messages API) ${p.sideStreams} read through a bare TCP pipe process. Every group lives through the same machine noise, so "added" (gateway − direct) and the pipe's own added latency are compared within one phase. A table row is the repetition with the median added p99; every repetition's figures are listed under the targets. Before them, each API gets one unmeasured warm-up phase at the same concurrency (${p.concurrentStreams} streams × 20 tokens): it warms the JIT and fills the gateway's upstream connection pool, as steady traffic keeps it.`,
    '',
    'Method: the simulated fleet (TGI native + Messages API, and a SageMaker runtime in front of it speaking the AWS event-stream encoding), the gateway (' + p.gateway + '), the TCP pipe and this load generator are four processes. The simulator stamps each token write and the load generator each arrival with CLOCK_MONOTONIC (`process.hrtime`, one clock for every process on the machine); per-token latency = arrival − write. "Direct" reads the simulator with a plain client of that API (undici + eventsource-parser; the real AWS SDK for SageMaker): one process hop, as a client talking to TGI itself would have. "Gateway" reads the same kind of stream through vlp-live (two hops), "pipe" through a bare TCP relay process (two hops, no work). The gateway\'s CPU time (process.cpuUsage via prom-client) and RSS are its own. ' + (p.pinned ? 'The gateway has its core to itself; the other three share the rest.' : 'The two cores are shared by all four processes.'),
    '',
    '| transport | upstream API | per-token p50 direct / gateway (ms) | per-token p99 direct / gateway (ms) | added end-to-end p50 / p99 (ms) | gateway-internal relay p50 / p99 / p99.9 (ms, ≤ bucket) | TTFT p50 direct / gateway (ms) | tokens/s through gateway | gateway CPU µs/token | gateway cores | RSS/active session (KiB) | gateway loop lag p99 / max (ms, incl. 10 ms timer resolution) | load-gen loop delay p99 (ms) | cores: load generator / simulator / pipe | idle process: timer late p99 (ms) / stalled > 2 ms (% of time) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of reports) {
    for (const x of r.paths) {
      lines.push(
        `| ${r.transport} | ${x.path} | ${x.direct.perTokenLatencyMs.p50} / ${x.gateway.perTokenLatencyMs.p50} | ${x.direct.perTokenLatencyMs.p99} / ${x.gateway.perTokenLatencyMs.p99} | ${x.addedPerTokenMs.p50} / ${x.addedPerTokenMs.p99} | ${x.gatewayRelayMs.p50} / ${x.gatewayRelayMs.p99} / ${x.gatewayRelayMs.p999} | ${x.direct.ttftMs.p50} / ${x.gateway.ttftMs.p50} | ${x.gateway.tokensPerSec} | ${x.gatewayCpu.usPerToken} | ${x.gatewayCpu.cores} | ${x.activeRssPerSessionKiB} | ${x.gatewayLoopLagMs.p99} / ${x.gatewayLoopLagMs.max} | ${x.loadgenLoopDelayP99Ms} | ${x.otherCores.loadGenerator} / ${x.otherCores.simulator} / ${x.otherCores.pipe} | ${x.idleProcessNoise.p99Ms} / ${x.idleProcessNoise.stalledPct} |`,
      );
    }
  }
  const floors = reports.flatMap((r) => r.paths.filter((x) => x.tcpPipeFloor).map((x) => ({ r, x })));
  if (floors.length > 0) {
    lines.push('', '| transport | upstream API | calibration: the same API through a bare TCP pipe process, same phase | per-token p50 / p99 (ms) | pipe added p99 over direct (ms) | vlp-live added p99 (ms) |', '|---|---|---|---|---|---|');
    for (const { r, x } of floors) {
      const f = x.tcpPipeFloor as NonNullable<PathReport['tcpPipeFloor']>;
      lines.push(`| ${r.transport} | ${x.path} | sim → pipe process → load generator | ${f.perTokenLatencyMs.p50} / ${f.perTokenLatencyMs.p99} | ${f.addedP99Ms} | ${x.addedPerTokenMs.p99} |`);
    }
  }
  lines.push(
    '',
    'Reading the figures: "gateway-internal relay" (the `vlp_token_relay_seconds` histogram, bucket upper bounds) is the time the gateway itself adds to a token, from reading its bytes off the backend socket to writing its frame to the client socket. The end-to-end "added" figure also contains one more cross-process hop on loopback and the scheduling delays of four busy processes on two vCPUs; the TCP pipe shows what that hop alone costs in the same phase, and the idle process (a fifth process that only runs a 1 ms timer, on the load generator\'s core when pinned) shows how late that core wakes a process that does nothing at all: the floor under every hop. These figures vary widely from run to run on these machines: under the targets, each API\'s added p99 is listed for every repetition with their mean and its 95 % confidence interval (Student t over the repetitions), which says how far the figure could move on a rerun at the same noise. The verdict uses the median repetition.',
  );
  const mixed = reports.filter((r) => r.mixed !== undefined);
  if (mixed.length > 0) {
    lines.push(
      '',
      '## SageMaker vs TGI-native, side by side',
      '',
      `Each repetition is one phase: half of the gateway's streams read the TGI-native API and half the SageMaker runtime API (the real AWS SDK), while ${Math.max(1, Math.floor(p.sideStreams / 2))} direct readers of each API run beside them, all on the same start schedule. Every group lives through the same disturbances (the gateway's GC pauses, the scheduler, the load generator's own stalls), so "SageMaker over TGI" = (SageMaker gateway − SageMaker direct) − (TGI gateway − TGI direct) isolates what the SageMaker path costs inside the gateway (AWS SDK event-stream decoding, payload-part reassembly) rather than what the machine did between two phases.`,
      '',
      '| transport | rep | streams per path | per-token p99 direct TGI / SageMaker (ms) | per-token p99 gateway TGI / SageMaker (ms) | added p50 TGI / SageMaker (ms) | added p99 TGI / SageMaker (ms) | SageMaker over TGI p50 / p99 (ms) |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const r of mixed) {
      const m = r.mixed as MixedReport;
      // By value, not identity: a report re-rendered from its JSON holds the median as a copy.
      const median = JSON.stringify(m.median);
      m.repetitions.forEach((k, i) => {
        lines.push(
          `| ${r.transport} | ${i + 1}${JSON.stringify(k) === median ? ' (median)' : ''} | ${k.a.streams} | ${k.a.directMs.p99} / ${k.b.directMs.p99} | ${k.a.gatewayMs.p99} / ${k.b.gatewayMs.p99} | ${k.a.addedMs.p50} / ${k.b.addedMs.p50} | ${k.a.addedMs.p99} / ${k.b.addedMs.p99} | ${k.bOverA.p50} / ${k.bOverA.p99} |`,
        );
      });
    }
  }
  lines.push('', '| transport | idle sessions | RSS before / after (MiB) | RSS per idle session (KiB) |', '|---|---|---|---|');
  for (const r of reports) lines.push(`| ${r.transport} | ${r.idle.sessions} | ${r.idle.rssBeforeMiB} / ${r.idle.rssAfterMiB} | ${r.idle.rssPerSessionKiB} |`);
  lines.push('', '## Targets', '');
  for (const r of reports) {
    for (const x of r.paths) {
      if (!x.repetitions || x.repetitions.length < 2) continue;
      const reps = x.repetitions
        .map((k) => `${k.addedP99Ms}${k.tcpPipeAddedP99Ms !== undefined ? ` (pipe ${k.tcpPipeAddedP99Ms})` : ''}`)
        .join(', ');
      const spread = meanInterval(x.repetitions.map((k) => k.addedP99Ms));
      const mean = spread ? `; their mean ${r2(spread.mean)} ms, 95 % interval of the mean ${r2(spread.low)} to ${r2(spread.high)} ms` : '';
      lines.push(`- ${r.transport} / ${x.path}: added p99 per repetition (ms): ${reps}${mean}; gateway-internal relay p99 ≤ ${x.repetitions.map((k) => k.gatewayRelayP99Ms).join(' / ')} ms; CPU µs/token ${x.repetitions.map((k) => k.cpuUsPerToken).join(' / ')}; an idle process stalled > 2 ms ${x.repetitions.map((k) => k.idleStalledPct).join(' / ')} % of the time${stealText(x.repetitions)}.`);
    }
  }
  for (const r of reports) {
    for (const x of r.paths) {
      lines.push(
        `- ${r.transport} / ${x.path}: added per-token p99, end to end across processes: ${x.addedPerTokenMs.p99} ms (target ≤ ${meta.targets.addedPerTokenP99Ms} ms: ${verdict(x.addedPerTokenMs.p99 <= meta.targets.addedPerTokenP99Ms)}); inside the gateway (backend socket read → client socket write): p99 ≤ ${x.gatewayRelayMs.p99} ms (${verdict(x.gatewayRelayMs.p99 <= meta.targets.addedPerTokenP99Ms)}); streams completed ${x.gateway.completed}/${x.gateway.streams}; tokens missing an emit record: ${x.gateway.missingEmits}.`,
      );
    }
    const tgi = r.paths.find((x) => x.path === 'tgi');
    const sm = r.paths.find((x) => x.path === 'sagemaker');
    if (tgi && sm) {
      const over = Math.round((sm.addedPerTokenMs.p99 - tgi.addedPerTokenMs.p99) * 100) / 100;
      lines.push(`- ${r.transport}: separate phases, SageMaker path's added p99 minus TGI-native path's added p99 = ${over} ms (phases seconds apart: dominated by what else the machine did; the side-by-side figure below is the measurement of record).`);
    }
    if (r.mixed) {
      const m = r.mixed;
      const over = m.median.bOverA.p99;
      lines.push(
        `- ${r.transport}: side by side in one phase (${m.repetitions.length} repetitions: ${m.repetitions.map((k) => k.bOverA.p99).join(', ')} ms), the SageMaker path adds **${over} ms** p99 per token over the TGI-native path (median repetition; target ≤ ${meta.targets.sagemakerOverTgiP99Ms} ms; ${m.median.a.streams} SageMaker + ${m.median.a.streams} TGI-native concurrent streams: ${verdict(over <= meta.targets.sagemakerOverTgiP99Ms)}).`,
      );
    }
    if (r.idle.sessions > 0) {
      lines.push(`- ${r.transport}: RSS per idle session ${r.idle.rssPerSessionKiB} KiB (target ≤ ${meta.targets.idleRssPerSessionKiB} KiB: ${verdict(r.idle.rssPerSessionKiB <= meta.targets.idleRssPerSessionKiB)}).`);
    }
  }
  lines.push('');
  return { md: lines.join('\n'), json: JSON.stringify({ meta: { ...meta, machine }, reports }, null, 2) + '\n' };
}
