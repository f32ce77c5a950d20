// Starts the relay benchmark's simulated fleet as a child process (relay-sim-child.ts) and fetches
// the token emit times it recorded.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EmitTimes } from './relay-clients.ts';

export type SimChildMessage =
  | { t: 'ready'; tgiUrl: string; smUrl: string }
  | { t: 'emits'; id: number; emits: [number, number[]][] };
export type SimParentMessage = { t: 'emits'; id: number } | { t: 'stop' };

export interface SimFleetProc {
  tgiUrl: string;
  smUrl: string;
  pid: number;
  /** Emit times recorded since the previous call (the child forgets them). */
  takeEmits(): Promise<EmitTimes>;
  stop(): Promise<void>;
}

export async function startSimFleet(cfg: { ttftMs: number; itlMs: number; tokens: number; smEndpoint: string }, cpus?: string): Promise<SimFleetProc> {
  const entry = fileURLToPath(new URL('./relay-sim-child.ts', import.meta.url));
  // BENCH_SIM_FLAGS adds Node/V8 flags to the simulator process (e.g. --cpu-prof) for tuning.
  const extra = (process.env.BENCH_SIM_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const child: ChildProcess = fork(entry, [JSON.stringify(cfg)], { execArgv: ['--import', 'tsx', ...extra], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (cpus !== undefined && child.pid !== undefined) {
    const { spawnSync } = await import('node:child_process');
    spawnSync('taskset', ['-a', '-p', '-c', cpus, String(child.pid)]);
  }
  const ready = await new Promise<Extract<SimChildMessage, { t: 'ready' }>>((resolve, reject) => {
    child.once('message', (m: SimChildMessage) => (m.t === 'ready' ? resolve(m) : reject(new Error('simulator sent no ready'))));
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
  });
  let nextId = 0;
  return {
    tgiUrl: ready.tgiUrl,
    smUrl: ready.smUrl,
    pid: child.pid ?? -1,
    takeEmits() {
      const id = ++nextId;
      return new Promise((resolve) => {
        const on = (m: SimChildMessage): void => {
          if (m.t !== 'emits' || m.id !== id) return;
          child.off('message', on);
          resolve(new Map(m.emits));
        };
        child.on('message', on);
        child.send({ t: 'emits', id } satisfies SimParentMessage);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ t: 'stop' } satisfies SimParentMessage);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
