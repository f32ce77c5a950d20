// Calibration process for the benchmarks: an idle Node process whose 1 ms timer measures how late
// the machine wakes it (scheduler and hypervisor noise that every process on the box lives with).
// The parent asks over IPC for the figures since its previous ask: { t: 'take' } → NoiseFigures.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface NoiseFigures {
  /** Timer lateness percentiles, ms (1 ms resolution timer; the resolution itself is subtracted). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of wall time this idle process spent waiting more than 2 ms past its timer, %. */
  stalledPct: number;
}

const TICK_MS = 1;
const h = monitorEventLoopDelay({ resolution: TICK_MS });
h.enable();
let stalledMs = 0;
let since = performance.now();
let last = since;
setInterval(() => {
  const now = performance.now();
  const late = now - last - TICK_MS;
  if (late > 2) stalledMs += late;
  last = now;
}, TICK_MS);

process.on('message', (m: { t?: unknown }) => {
  if (m.t !== 'take') return;
  const now = performance.now();
  const ms = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - TICK_MS) * 100) / 100);
  const figures: NoiseFigures = {
    p50Ms: ms(h.percentile(50)),
    p99Ms: ms(h.percentile(99)),
    maxMs: ms(h.max),
    stalledPct: Math.round((10000 * stalledMs) / Math.max(1, now - since)) / 100,
  };
  h.reset();
  stalledMs = 0;
  since = now;
  process.send?.(figures);
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
