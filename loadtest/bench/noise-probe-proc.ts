// Starts the noise probe (noise-probe.ts) as a child process and reads its figures.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NoiseFigures } from './noise-probe.ts';

export interface NoiseProbe {
  /** Figures since the previous take (the first take resets). */
  take(): Promise<NoiseFigures>;
  stop(): void;
}

export async function startNoiseProbe(): Promise<NoiseProbe> {
  const child = fork(fileURLToPath(new URL('./noise-probe.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  process.once('exit', () => child.kill());
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`noise probe exited (${code})`)));
  });
  return {
    take: () =>
      new Promise((resolve) => {
        child.once('message', (m: NoiseFigures) => resolve(m));
        child.send({ t: 'take' });
      }),
    stop: () => {
      child.kill();
    },
  };
}

/** No calibration process: every figure is NaN. */
export function offNoiseProbe(): NoiseProbe {
  const none = { p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN, stalledPct: Number.NaN };
  return { take: () => Promise.resolve(none), stop: () => undefined };
}
