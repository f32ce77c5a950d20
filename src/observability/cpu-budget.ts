// How many CPUs this process may use (its affinity mask and a cgroup CPU quota), and whether V8's
// background GC threads then only take time away from the event loop. V8 runs concurrent marking,
// parallel scavenges and sweeping on helper threads; with one CPU they share that CPU with the
// main thread, and a marking job preempting it shows up as a stall of several milliseconds in the
// middle of a token stream (measured: loadtest/reports/relay-*.md). `--single-threaded-gc` keeps all
// GC work on the main thread in short incremental steps. It is a V8 start-up flag: it cannot be set
// from inside a running process, so the gateway can only detect the case and say what to do.
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

export interface CpuBudget {
  /** CPUs in this process's affinity mask (taskset, cpuset). */
  affinity: number;
  /** CPUs the cgroup's CFS quota allows (quota / period), undefined when unlimited or unknown. */
  quota: number | undefined;
  /** The smaller of the two: how much CPU the process can use at once. */
  cpus: number;
  /** V8 runs its garbage collector on the main thread only (`--single-threaded-gc`). */
  singleThreadedGc: boolean;
}

/** CPUs allowed by a cgroup v2 `cpu.max` ("<quota> <period>" or "max <period>"). */
export function parseCgroupV2Max(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return undefined;
  return quotaCpus(Number(quota), Number(period));
}

/** CPUs allowed by cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (quota −1 = unlimited). */
export function parseCgroupV1(quotaText: string, periodText: string): number | undefined {
  return quotaCpus(Number(quotaText.trim()), Number(periodText.trim()));
}

function quotaCpus(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return quota / period;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The cgroup v2 path of this process from /proc/self/cgroup ("0::/system.slice/x.service"). */
export function cgroupV2Path(procSelfCgroup: string): string | undefined {
  const line = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line === undefined ? undefined : line.slice(3).trim();
}

/** The cgroup v1 path of this process's `cpu` controller ("4:cpu,cpuacct:/docker/abc"). */
export function cgroupV1CpuPath(procSelfCgroup: string): string | undefined {
  for (const line of procSelfCgroup.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers !== undefined && path !== undefined && controllers.split(',').includes('cpu')) return path.trim();
  }
  return undefined;
}

/** Each directory from `path` up to the cgroup root ("/a/b" → "/a/b", "/a", ""). */
function upToRoot(path: string): string[] {
  const out: string[] = [];
  for (let dir = path === '/' ? '' : path; ; dir = dir.slice(0, dir.lastIndexOf('/'))) {
    out.push(dir);
    if (dir === '') return out;
  }
}

const minDefined = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** The cgroup CPU quota of this process in CPUs, undefined when none is set: the smallest limit
 *  from its own cgroup up to the root (a parent's limit binds its children; inside a container's
 *  cgroup namespace the own cgroup is the root), cgroup v2 `cpu.max` and, on v1 or hybrid
 *  hierarchies, the `cpu` controller's CFS quota. */
export function cgroupQuota(read: (path: string) => string | undefined = readOrUndefined): number | undefined {
  const self = read('/proc/self/cgroup') ?? '';
  let min: number | undefined;
  const v2 = cgroupV2Path(self);
  if (v2 !== undefined) {
    for (const dir of upToRoot(v2)) {
      const text = read(`/sys/fs/cgroup${dir}/cpu.max`);
      min = minDefined(min, text === undefined ? undefined : parseCgroupV2Max(text));
    }
  }
  const v1 = cgroupV1CpuPath(self);
  if (v1 !== undefined) {
    for (const dir of upToRoot(v1)) {
      const q = read(`/sys/fs/cgroup/cpu${dir}/cpu.cfs_quota_us`);
      const p = read(`/sys/fs/cgroup/cpu${dir}/cpu.cfs_period_us`);
      min = minDefined(min, q !== undefined && p !== undefined ? parseCgroupV1(q, p) : undefined);
    }
  }
  return min;
}

/** True when V8 was started with its GC on the main thread only (either flag spelling). */
export function hasSingleThreadedGc(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => a === '--single-threaded-gc' || a === '--single_threaded_gc');
}

export function cpuBudget(
  env: { affinity?: number; quota?: number | undefined; execArgv?: readonly string[] } = {},
): CpuBudget {
  const affinity = env.affinity ?? availableParallelism();
  const quota = 'quota' in env ? env.quota : cgroupQuota();
  const cpus = quota === undefined ? affinity : Math.min(affinity, quota);
  return { affinity, quota, cpus, singleThreadedGc: hasSingleThreadedGc(env.execArgv ?? process.execArgv) };
}

/**
 * Advice for the operator when the process has at most one CPU and V8's GC still runs background
 * threads; undefined when there is nothing to say.
 */
export function gcPlacementAdvice(b: CpuBudget): string | undefined {
  if (b.cpus > 1 || b.singleThreadedGc) return undefined;
  return 'this process may use at most one CPU, where V8 background GC threads preempt the event loop (stalls of several ms mid-stream); start node with --single-threaded-gc, e.g. npm run start:dist:1cpu (README, Operations: One CPU)';
}
