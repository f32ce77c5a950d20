// Side-by-side comparison of two upstream APIs in one phase: half of the gateway's streams use path
// A and half path B, interleaved on the same start schedule, while direct readers of both paths run
// in the same phase.
// Both halves share every disturbance of the phase (the gateway's GC pauses, the scheduler of two
// shared vCPUs, the load generator's own stalls), so the difference of their added latencies
// isolates what one path costs over the other; separate phases run seconds apart and differ by
// whatever else the machine did meanwhile.
import type WebSocket from 'ws';
import { runDirect, runGateway, openIdleSessions, settleLatencies, type DirectTarget, type EmitTimes, type PhaseResult, type RelayPath } from './relay-clients.ts';
import { r2, summarize } from './stats.ts';

export interface MixedHalf {
  path: RelayPath;
  streams: number;
  tokens: number;
  directMs: { p50: number; p99: number };
  gatewayMs: { p50: number; p99: number };
  addedMs: { p50: number; p99: number };
}

export interface MixedRepetition {
  a: MixedHalf;
  b: MixedHalf;
  /** b's added latency minus a's, ms. */
  bOverA: { p50: number; p99: number };
}

export interface MixedReport {
  pathA: RelayPath;
  pathB: RelayPath;
  repetitions: MixedRepetition[];
  /** The repetition with the median bOverA.p99. */
  median: MixedRepetition;
}

const q = (p: PhaseResult): { p50: number; p99: number } => {
  const s = summarize(p.tokenLatencyMs);
  return { p50: r2(s.p50), p99: r2(s.p99) };
};

function half(path: RelayPath, direct: PhaseResult, through: PhaseResult): MixedHalf {
  const d = q(direct);
  const g = q(through);
  if (through.completed !== through.streams || direct.completed !== direct.streams) {
    throw new Error(`mixed phase (${path}): ${through.completed}/${through.streams} gateway and ${direct.completed}/${direct.streams} direct streams completed`);
  }
  return { path, streams: through.streams, tokens: through.tokens, directMs: d, gatewayMs: g, addedMs: { p50: r2(g.p50 - d.p50), p99: r2(g.p99 - d.p99) } };
}

export interface MixedOptions {
  gatewayUrl: string;
  /** Gateway streams of each path (the gateway carries twice as many). */
  streamsPerPath: number;
  /** Direct readers of each path in the same phase. */
  directPerPath: number;
  tokens: number;
  rampMs: number;
  repeat: number;
  /** The simulator's emit times recorded since the previous call. */
  takeEmits: () => Promise<EmitTimes>;
  /** Returns a fresh seed base for each run (seeds must not repeat across runs). */
  nextSeedBase: () => number;
}

async function once(o: MixedOptions, a: DirectTarget, b: DirectTarget): Promise<MixedRepetition> {
  const n = Math.max(1, Math.floor(o.streamsPerPath));
  const d = Math.max(1, Math.floor(o.directPerPath));
  const sockets: WebSocket[] = await openIdleSessions(o.gatewayUrl, 2 * n);
  try {
    await new Promise((r) => setTimeout(r, 300));
    // One phase: both paths through the gateway and both read directly, all on the same schedule.
    const [ga, gb, da, db] = await Promise.all([
      runGateway(sockets.slice(0, n), o.tokens, o.nextSeedBase(), o.rampMs, a.path),
      runGateway(sockets.slice(n), o.tokens, o.nextSeedBase(), o.rampMs, b.path),
      runDirect(a, d, o.tokens, o.nextSeedBase(), o.rampMs),
      runDirect(b, d, o.tokens, o.nextSeedBase(), o.rampMs),
    ]);
    const emits = await o.takeEmits();
    for (const r of [da, db, ga, gb]) settleLatencies(r, emits);
    const ha = half(a.path, da, ga);
    const hb = half(b.path, db, gb);
    return { a: ha, b: hb, bOverA: { p50: r2(hb.addedMs.p50 - ha.addedMs.p50), p99: r2(hb.addedMs.p99 - ha.addedMs.p99) } };
  } finally {
    for (const s of sockets) s.close();
  }
}

export async function measureMixed(o: MixedOptions, a: DirectTarget, b: DirectTarget): Promise<MixedReport> {
  const reps: MixedRepetition[] = [];
  for (let k = 0; k < Math.max(1, o.repeat); k++) reps.push(await once(o, a, b));
  const sorted = [...reps].sort((x, y) => x.bOverA.p99 - y.bOverA.p99);
  return { pathA: a.path, pathB: b.path, repetitions: reps, median: sorted[Math.floor((sorted.length - 1) / 2)] as MixedRepetition };
}
