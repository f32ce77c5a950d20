// The audio benchmark's simulator child process (audio-sim.ts: WhisperLive and TGI), forked with
// its configuration and driven over IPC; the offset of its wall clock over ours (for matching probe
// frames end to end); and a polling wait used while sessions connect and finish.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { AudioSimConfig, SimRequest, SimStatsReply } from './audio-sim.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const wallNow = (): number => performance.timeOrigin + performance.now();

export interface SimProc {
  child: ChildProcess;
  whisperLiveUrl: string;
  tgiUrl: string;
  req<T>(cmd: SimRequest['cmd']): Promise<T>;
  stats(): Promise<SimStatsReply>;
}

export async function startSimProc(config: AudioSimConfig): Promise<SimProc> {
  // BENCH_SIM_PROF=dir writes a V8 CPU profile of the simulator process there (for tuning).
  const prof = process.env.BENCH_SIM_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SIM_PROF}`] : [];
  const child = fork(fileURLToPath(new URL('./audio-sim.ts', import.meta.url)), [JSON.stringify(config)], { execArgv: [...prof, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, (body: unknown) => void>();
  let nextId = 1;
  const first = new Promise<{ whisperLiveUrl: string; tgiUrl: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`simulator process exited (${code})`)));
    child.on('message', (m: { id: number; body: unknown }) => {
      if (m.id === 0) return resolve(m.body as { whisperLiveUrl: string; tgiUrl: string });
      waiting.get(m.id)?.(m.body);
      waiting.delete(m.id);
    });
  });
  const urls = await first;
  const req = <T>(cmd: SimRequest['cmd']): Promise<T> =>
    new Promise<T>((resolve) => {
      const id = nextId++;
      waiting.set(id, (b) => resolve(b as T));
      child.send({ id, cmd });
    });
  return { child, ...urls, req, stats: () => req<SimStatsReply>('stats') };
}

/** Offset of the simulator's wall clock over ours (best of several IPC round trips). */
export async function clockOffset(sim: SimProc): Promise<{ offsetMs: number; rttMs: number }> {
  let best = { offsetMs: 0, rttMs: Infinity };
  for (let i = 0; i < 9; i++) {
    const t0 = wallNow();
    const s = await sim.req<number>('ping');
    const t1 = wallNow();
    if (t1 - t0 < best.rttMs) best = { offsetMs: s - (t0 + t1) / 2, rttMs: t1 - t0 };
  }
  return best;
}

/** Polls `cond` every 50 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
