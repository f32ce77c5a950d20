import { describe, expect, it } from 'vitest';
import { cgroupQuota, cpuBudget, gcPlacementAdvice, hasSingleThreadedGc, parseCgroupV1, parseCgroupV2Max } from './cpu-budget.ts';

describe('cgroup CPU quota', () => {
  it('reads cgroup v2 cpu.max', () => {
    expect(parseCgroupV2Max('max 100000\n')).toBeUndefined();
    expect(parseCgroupV2Max('100000 100000\n')).toBe(1);
    expect(parseCgroupV2Max('150000 100000')).toBe(1.5);
    expect(parseCgroupV2Max('')).toBeUndefined();
    expect(parseCgroupV2Max('garbage')).toBeUndefined();
    expect(parseCgroupV2Max('0 100000')).toBeUndefined();
  });

  it('reads cgroup v1 cfs quota and period', () => {
    expect(parseCgroupV1('-1\n', '100000\n')).toBeUndefined();
    expect(parseCgroupV1('50000\n', '100000\n')).toBe(0.5);
    expect(parseCgroupV1('x', '100000')).toBeUndefined();
  });

  it('prefers cgroup v2 and falls back to v1, and knows when neither exists', () => {
    const files = (m: Record<string, string>) => (path: string) => m[path];
    expect(cgroupQuota(files({ '/sys/fs/cgroup/cpu.max': '200000 100000', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBe(2);
    expect(cgroupQuota(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBe(0.5);
    expect(cgroupQuota(files({}))).toBeUndefined();
  });
});

describe('GC placement advice', () => {
  it('recognises the flag in both spellings only', () => {
    expect(hasSingleThreadedGc(['--single-threaded-gc'])).toBe(true);
    expect(hasSingleThreadedGc(['--max-old-space-size=512', '--single_threaded_gc'])).toBe(true);
    expect(hasSingleThreadedGc(['--single-threaded'])).toBe(false);
    expect(hasSingleThreadedGc([])).toBe(false);
  });

  it('takes the smaller of affinity and quota', () => {
    expect(cpuBudget({ affinity: 8, quota: 1, execArgv: [] }).cpus).toBe(1);
    expect(cpuBudget({ affinity: 1, quota: undefined, execArgv: [] }).cpus).toBe(1);
    expect(cpuBudget({ affinity: 4, quota: 2.5, execArgv: [] }).cpus).toBe(2.5);
  });

  it('advises --single-threaded-gc only on one CPU or less without it', () => {
    expect(gcPlacementAdvice(cpuBudget({ affinity: 1, quota: undefined, execArgv: [] }))).toMatch(/--single-threaded-gc/);
    expect(gcPlacementAdvice(cpuBudget({ affinity: 16, quota: 0.5, execArgv: [] }))).toMatch(/--single-threaded-gc/);
    expect(gcPlacementAdvice(cpuBudget({ affinity: 1, quota: undefined, execArgv: ['--single-threaded-gc'] }))).toBeUndefined();
    expect(gcPlacementAdvice(cpuBudget({ affinity: 2, quota: undefined, execArgv: [] }))).toBeUndefined();
    expect(gcPlacementAdvice(cpuBudget({ affinity: 4, quota: 1.5, execArgv: [] }))).toBeUndefined();
  });

  it('describes this process', () => {
    const b = cpuBudget();
    expect(b.affinity).toBeGreaterThanOrEqual(1);
    expect(b.cpus).toBeLessThanOrEqual(b.affinity);
    expect(b.singleThreadedGc).toBe(process.execArgv.includes('--single-threaded-gc'));
  });
});
