import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { reniceProcess } from './gateway-proc.ts';

/** Nice value of each thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('reniceProcess', () => {
  it('sets the nice value of every thread of a process, not just its main thread', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const pid = child.pid!;
      // Node starts its V8 platform and libuv threads at boot; wait until they exist.
      for (let k = 0; k < 50 && readdirSync(`/proc/${pid}/task`).length < 2; k++) await new Promise((r) => setTimeout(r, 20));
      expect(readdirSync(`/proc/${pid}/task`).length).toBeGreaterThan(1);
      reniceProcess(pid, 7); // raising nice needs no privilege
      expect(new Set(threadNices(pid))).toEqual(new Set([7]));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('fails for a process that does not exist', () => {
    expect(() => reniceProcess(2 ** 22 + 1, 5)).toThrow();
  });
});
