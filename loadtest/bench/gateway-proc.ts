// Runs the gateway as a child process (the way it runs in production: `tsx src/main.ts`) and
// reads its own CPU time and RSS from its Prometheus /metrics (prom-client's process metrics come
// from process.cpuUsage() and the resident set size of the gateway process itself).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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

export interface GatewayProc {
  port: number;
  url: string;
  http: string;
  child: ChildProcess;
  /** CPU seconds and RSS from the gateway's own /metrics (process.cpuUsage, resident memory). */
  sample(): Promise<{ cpuS: number; rssBytes: number }>;
  /** RSS read from /proc by this process: does not disturb the gateway's event loop. */
  rssFromProc(): number;
  stop(): Promise<void>;
}

export async function startGatewayProc(opts: { transport: 'ws' | 'uws'; tgiUrl: string; env?: Record<string, string> }): Promise<GatewayProc> {
  const port = await freePort();
  // BENCH_CPU_PROF=dir writes a V8 CPU profile of the gateway process there (for tuning).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  // BENCH_NODE_FLAGS adds V8/Node flags to the gateway process (e.g. --trace-gc) for tuning.
  const extra = process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : [];
  const child = spawn(process.execPath, [...prof, ...extra, '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      VLP_HOST: '127.0.0.1',
      VLP_TRANSPORT: opts.transport,
      VLP_TGI_URL: opts.tgiUrl,
      VLP_IDEFICS_URL: opts.tgiUrl,
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
      return { cpuS: num('vlp_process_cpu_seconds_total'), rssBytes: num('vlp_process_resident_memory_bytes') };
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
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
