// The audio benchmark's views of the gateway process while it runs: /metrics scrapes (forwarding
// histogram, chunk, dropped-audio and error counters), a /healthz round-trip probe of its event
// loop, and (with BENCH_CPU_PROF) the top self time of its CPU profile once it has exited.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { histogramBuckets, metricValue, type GatewayProc } from './gateway-proc.ts';
import { LinearHistogram } from './histogram.ts';
import { renderTopSelfTime, topSelfTime, type CpuProfile } from './cpuprofile.ts';

export interface Scrape {
  text: string;
  cpuS: number;
  /** ms the gateway took to answer. */
  tookMs: number;
}

/** One /metrics scrape, undefined when the gateway does not answer within `timeoutMs` (an
 *  overloaded gateway answers only after the frames queued before the request). */
export async function scrape(gw: GatewayProc, timeoutMs: number): Promise<Scrape | undefined> {
  const t = performance.now();
  try {
    const res = await fetch(`${gw.http}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    const cpuS = metricValue(text, 'vlp_process_cpu_seconds_total');
    if (!res.ok || Number.isNaN(cpuS)) return undefined;
    return { text, cpuS, tookMs: performance.now() - t };
  } catch {
    return undefined;
  }
}

/** The forwarding histogram of a gateway that did not answer: no observations. */
export const EMPTY_BUCKETS: Map<number, number> = new Map([[Infinity, 0]]);
export const fwdBuckets = (s: Scrape | undefined): Map<number, number> => (s ? histogramBuckets(s.text, 'vlp_audio_forward_seconds') : EMPTY_BUCKETS);
export const chunksIn = (s: Scrape | undefined): number => (s ? metricValue(s.text, 'vlp_audio_chunks_total') : Number.NaN);
export const droppedMs = (s: Scrape | undefined): number => (s ? metricValue(s.text, 'vlp_audio_dropped_ms_total') : Number.NaN);
/** Error frames the gateway sent over its whole life, by code (vlp_errors_total{code}). */
export function errorCounts(s: Scrape | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (s) for (const m of s.text.matchAll(/^vlp_errors_total\{code="([^"]+)"\} (\d+)/gm)) out[m[1] as string] = Number(m[2]);
  return out;
}
export const SCRAPE_TIMEOUT_MS = 8_000;

/**
 * Round trips of GET /healthz every `everyMs` while running: how long a request that reaches the
 * gateway waits for its event loop (plus loopback and this process's own loop). One at a time; a
 * probe still unanswered when the next is due counts as late as it is by then.
 */
export function startHealthProbe(gw: GatewayProc, everyMs: number): { stop(): Promise<LinearHistogram> } {
  const h = new LinearHistogram(0.05, 10_000);
  let inFlight: Promise<void> | undefined;
  let startedAt = 0;
  const timer = setInterval(() => {
    if (inFlight) return;
    startedAt = performance.now();
    inFlight = fetch(`${gw.http}/healthz`, { signal: AbortSignal.timeout(10_000) })
      .then((r) => r.arrayBuffer())
      .then(
        () => h.add(performance.now() - startedAt),
        () => h.add(10_000),
      )
      .finally(() => (inFlight = undefined));
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      if (inFlight) h.add(performance.now() - startedAt); // still waiting at the window's end
      return h;
    },
  };
}

/** With BENCH_CPU_PROF=dir, the gateway writes a V8 CPU profile on exit: print its top self time. */
export function printProfile(gw: GatewayProc, label: string): void {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return;
  // node --cpu-prof names it CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one.
  const file = readdirSync(dir).find((f) => f.includes(`.${gw.child.pid}.0.`) && f.endsWith('.cpuprofile'));
  if (!file) return console.log(`  (no CPU profile of the gateway ${label} in ${dir}: it did not exit in time)`);
  const top = topSelfTime(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, 10);
  console.log(`  gateway CPU profile ${label} (${join(dir, file)}):\n${renderTopSelfTime(top)}`);
}
