// Per-core steal time from /proc/stat: time the hypervisor ran something else while this VM's
// vCPU wanted to run. A benchmark phase that loses its gateway core's vCPU for milliseconds shows
// it here, outside anything the processes measured can do. Linux only; elsewhere it reads zeros.
import { readFileSync } from 'node:fs';

/** USER_HZ: /proc/stat counts in 1/100 s on every Linux this runs on. */
const TICK_MS = 10;

/** Steal time of each core so far, ms (index = core number). */
export function stealMsPerCore(text = readProcStat()): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal guest guest_nice
    const fields = (m[2] as string).trim().split(/\s+/).map(Number);
    out[Number(m[1])] = (fields[7] ?? 0) * TICK_MS;
  }
  return out;
}

/** Steal per core between two readings, ms. */
export function stealDelta(before: readonly number[], after: readonly number[]): number[] {
  return after.map((v, i) => v - (before[i] ?? 0));
}

function readProcStat(): string {
  try {
    return readFileSync('/proc/stat', 'utf8');
  } catch {
    return '';
  }
}
