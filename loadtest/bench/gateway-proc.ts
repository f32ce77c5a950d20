// Runs the gateway as a child process (the production build or tsx: gateway-build.ts) and reads
// its own CPU time and RSS from its Prometheus /metrics (prom-client's process metrics come from
// process.cpuUsage() and the resident set size of the gateway process itself).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { gcFlags, type GatewayEntry, type GatewayGc } from './gateway-build.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** CPU seconds (user + system, all threads) of a process, from /proc/<pid>/stat (10 ms ticks);
 *  NaN when it cannot be read. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

export interface GatewaySample {
  cpuS: number;
  rssBytes: number;
  /** Cumulative vlp_token_relay_seconds buckets: upper bound (s) → count. */
  relayBuckets: Map<number, number>;
  /** prom-client's event-loop lag p99 and max since the previous scrape, seconds. */
  loopLagP99S: number;
  loopLagMaxS: number;
  /** The whole /metrics exposition of this scrape (read other metrics with metricValue and
   *  histogramBuckets). */
  text: string;
}

/** Value of an unlabelled metric in a Prometheus exposition; NaN when absent. */
export function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.e+-]+|NaN|[+-]Inf)`, 'm').exec(text);
  if (!m) return Number.NaN;
  return m[1] === '+Inf' ? Infinity : m[1] === '-Inf' ? -Infinity : Number(m[1]);
}

/** Cumulative buckets of an unlabelled histogram: upper bound (s, Infinity for +Inf) → count. */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))) {
    out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** Quantile from the difference of two cumulative histograms: the upper bound of its bucket. */
export function bucketQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return Number.NaN;
  for (const b of bounds) {
    if ((after.get(b) ?? 0) - (before.get(b) ?? 0) >= q * total) return b;
  }
  return Infinity;
}

export interface GatewayProc {
  port: number;
  url: string;
  http: string;
  child: ChildProcess;
  /** CPU seconds and RSS from the gateway's own /metrics (process.cpuUsage, resident memory). */
  sample(): Promise<GatewaySample>;
  /** RSS read from /proc by this process: does not disturb the gateway's event loop. */
  rssFromProc(): number;
  /** CPU seconds (user + system, all threads) read from /proc/<pid>/stat: no scrape, so exact
   *  window boundaries even when the gateway is too busy to answer /metrics (10 ms ticks). */
  cpuFromProc(): number;
  stop(): Promise<void>;
}

/** Sets the nice value of every thread of a process (Linux: setpriority on each task id, since
 *  a nice value belongs to a thread). Lowering it needs CAP_SYS_NICE; throws a clear error then. */
export function reniceProcess(pid: number, nice: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      setPriority(Number(tid), nice);
    } catch (err) {
      throw new Error(`cannot set nice ${nice} on the gateway (thread ${tid}): ${(err as Error).message}; lowering it needs root or CAP_SYS_NICE`, { cause: err });
    }
  }
}

export async function startGatewayProc(opts: {
  entry: GatewayEntry;
  transport: 'ws' | 'uws';
  tgiUrl: string;
  env?: Record<string, string>;
  cpu?: number;
  nice?: number;
  /** V8 GC flags (gateway-build.ts; default: V8's defaults). */
  gc?: GatewayGc;
}): Promise<GatewayProc> {
  const port = await freePort();
  // BENCH_CPU_PROF=dir writes a V8 CPU profile of the gateway process there (for tuning).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  // BENCH_NODE_FLAGS adds V8/Node flags to the gateway process (e.g. --trace-gc) for tuning.
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  // With opts.cpu the gateway is pinned to that core (taskset), so it and the load generator do
  // not preempt each other on a 2-core machine.
  const argv = [...gcFlags(opts.gc ?? 'default'), ...prof, ...extra, ...opts.entry.argv];
  const [cmd, args] = opts.cpu !== undefined ? ['taskset', ['-c', String(opts.cpu), process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      VLP_HOST: '127.0.0.1',
      VLP_TRANSPORT: opts.transport,
      // With a config file the models come from it; otherwise both default models use tgiUrl.
      ...(opts.env?.VLP_CONFIG === undefined ? { VLP_TGI_URL: opts.tgiUrl, VLP_IDEFICS_URL: opts.tgiUrl } : {}),
      VLP_LOG_LEVEL: 'warn',
      VLP_SIM: 'off',
      // BENCH_GATEWAY_CONFIG=file.json passes a config file to the gateway (experiments).
      ...(process.env.BENCH_GATEWAY_CONFIG ? { VLP_CONFIG: process.env.BENCH_GATEWAY_CONFIG } : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const http = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(`${http}/healthz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('gateway did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  // Threads the gateway starts later inherit the nice value of the thread that starts them.
  if (opts.nice !== undefined && opts.nice !== 0 && child.pid !== undefined) reniceProcess(child.pid, opts.nice);
  return {
    port,
    url: `ws://127.0.0.1:${port}/v1/ws`,
    http,
    child,
    async sample() {
      const text = await (await fetch(`${http}/metrics`)).text();
      const num = (name: string): number => {
        const m = new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text);
        if (!m) throw new Error(`metric ${name} missing`);
        return Number(m[1]);
      };
      const relayBuckets = histogramBuckets(text, 'vlp_token_relay_seconds');
      return {
        cpuS: num('vlp_process_cpu_seconds_total'),
        rssBytes: num('vlp_process_resident_memory_bytes'),
        relayBuckets,
        loopLagP99S: num('vlp_nodejs_eventloop_lag_p99_seconds'),
        loopLagMaxS: num('vlp_nodejs_eventloop_lag_max_seconds'),
        text,
      };
    },
    rssFromProc() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmRSS:\s+(\d+) kB/.exec(status);
        return m ? Number(m[1]) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    cpuFromProc() {
      return procCpuSeconds(child.pid ?? -1);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
