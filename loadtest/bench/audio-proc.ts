// CPU time of a process split into user and system time, and into its main thread and the rest
// (V8's GC helpers, libuv's pool), read from /proc/<pid>/task/*/stat. On our Firecracker VMs a
// loopback write(2) costs ~9 µs of system time, so where a process spends its time (JS or the
// kernel) decides what can be made cheaper.
import { readdirSync, readFileSync } from 'node:fs';

/** Seconds of CPU time (USER_HZ ticks / 100: 10 ms resolution). */
export interface ProcTimes {
  mainUser: number;
  mainSys: number;
  otherUser: number;
  otherSys: number;
}

/** utime and stime (seconds) of one /proc stat line; the command name may hold spaces. */
export function parseStatTimes(stat: string): { user: number; sys: number } {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  return { user: Number(f[11]) / 100, sys: Number(f[12]) / 100 };
}

/** Per-thread times of `pid` now; NaN fields when /proc cannot be read (the process is gone). */
export function procTimes(pid: number | undefined): ProcTimes {
  const out: ProcTimes = { mainUser: 0, mainSys: 0, otherUser: 0, otherSys: 0 };
  if (pid === undefined) return { mainUser: Number.NaN, mainSys: Number.NaN, otherUser: Number.NaN, otherSys: Number.NaN };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let t: { user: number; sys: number };
      try {
        t = parseStatTimes(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      } catch {
        continue; // the thread exited between the listing and the read
      }
      if (Number(tid) === pid) {
        out.mainUser += t.user;
        out.mainSys += t.sys;
      } else {
        out.otherUser += t.user;
        out.otherSys += t.sys;
      }
    }
  } catch {
    return { mainUser: Number.NaN, mainSys: Number.NaN, otherUser: Number.NaN, otherSys: Number.NaN };
  }
  return out;
}

/** `b − a`, field by field. */
export function diffTimes(a: ProcTimes, b: ProcTimes): ProcTimes {
  return { mainUser: b.mainUser - a.mainUser, mainSys: b.mainSys - a.mainSys, otherUser: b.otherUser - a.otherUser, otherSys: b.otherSys - a.otherSys };
}
