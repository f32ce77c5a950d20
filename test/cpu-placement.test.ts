// The gateway confined to one CPU (taskset) warns at boot that V8's background GC threads will
// preempt its event loop and names the fix; started with --single-threaded-gc it does not, and its
// listening line reports the CPU budget it sees either way.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../loadtest/bench/gateway-proc.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface BootLog {
  listening: { cpu?: { affinity?: number; cpus?: number; singleThreadedGc?: boolean } };
  warnings: string[];
}

/** The first CPU this process may run on (a CI container may not be allowed CPU 0). */
function firstAllowedCpu(): string {
  const m = /^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m?.[1]) throw new Error('no Cpus_allowed_list in /proc/self/status');
  return m[1];
}

/** Starts the gateway (sources, embedded simulated fleet) under `taskset -c <one cpu>`, reads its
 *  JSON log lines until it listens, then stops it. */
async function bootOnOneCpu(nodeFlags: string[]): Promise<BootLog> {
  const port = await freePort();
  const child = spawn('taskset', ['-c', firstAllowedCpu(), process.execPath, ...nodeFlags, '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), VLP_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  try {
    return await new Promise<BootLog>((resolve, reject) => {
      const warnings: string[] = [];
      const timer = setTimeout(() => reject(new Error(`no listening line in 30 s:\n${out}\n${err}`)), 30_000);
      child.once('exit', (code) => reject(new Error(`gateway exited (${code}):\n${out}\n${err}`)));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        for (const line of lines) {
          const rec = JSON.parse(line) as { level: number; msg: string; cpu?: BootLog['listening']['cpu'] };
          if (rec.level === 40) warnings.push(rec.msg);
          if (rec.msg === 'vlp-live gateway listening') {
            clearTimeout(timer);
            resolve({ listening: { ...(rec.cpu ? { cpu: rec.cpu } : {}) }, warnings });
          }
        }
      });
    });
  } finally {
    child.kill('SIGTERM');
  }
}

describe('CPU placement at boot', () => {
  it('on one CPU with concurrent GC: warns and names --single-threaded-gc', async () => {
    const boot = await bootOnOneCpu([]);
    expect(boot.listening.cpu).toMatchObject({ affinity: 1, cpus: 1, singleThreadedGc: false });
    expect(boot.warnings.filter((w) => w.includes('--single-threaded-gc'))).toHaveLength(1);
  }, 40_000);

  it('on one CPU with --single-threaded-gc: no such warning', async () => {
    const boot = await bootOnOneCpu(['--single-threaded-gc']);
    expect(boot.listening.cpu).toMatchObject({ affinity: 1, cpus: 1, singleThreadedGc: true });
    expect(boot.warnings.filter((w) => w.includes('--single-threaded-gc'))).toHaveLength(0);
  }, 40_000);
});
