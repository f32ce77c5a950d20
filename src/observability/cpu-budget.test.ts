import { describe, expect, it } from 'vitest';
import { cgroupQuota, cgroupV1CpuPath, cgroupV2Path, cpuBudget, gcPlacementAdvice, hasSingleThreadedGc, parseCgroupV1, parseCgroupV2Max } from './cpu-budget.ts';

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

  it('cgroup v2: the smallest cpu.max from the own cgroup up to the root', () => {
    const files = (m: Record<string, string>) => (path: string) => m[path];
    const own = '0::/system.slice/vlp.service\n';
    expect(cgroupV2Path(own)).toBe('/system.slice/vlp.service');
    expect(cgroupQuota(files({ '/proc/self/cgroup': own, '/sys/fs/cgroup/system.slice/vlp.service/cpu.max': '200000 100000', '/sys/fs/cgroup/system.slice/cpu.max': '50000 100000' }))).toBe(0.5);
    expect(cgroupQuota(files({ '/proc/self/cgroup': own, '/sys/fs/cgroup/system.slice/vlp.service/cpu.max': '100000 100000', '/sys/fs/cgroup/system.slice/cpu.max': 'max 100000' }))).toBe(1);
    expect(cgroupQuota(files({ '/proc/self/cgroup': own }))).toBeUndefined();
    // Inside a container's cgroup namespace the own cgroup is the root.
    expect(cgroupQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000' }))).toBe(1.5);
  });

  it('cgroup v1 and hybrid hierarchies: the cpu controller\'s CFS quota along its path', () => {
    const files = (m: Record<string, string>) => (path: string) => m[path];
    const v1 = '4:memory:/x\n3:cpu,cpuacct:/docker/abc\n';
    expect(cgroupV2Path(v1)).toBeUndefined();
    expect(cgroupV1CpuPath(v1)).toBe('/docker/abc');
    expect(cgroupQuota(files({ '/proc/self/cgroup': v1, '/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us': '50000', '/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_period_us': '100000' }))).toBe(0.5);
    expect(cgroupQuota(files({ '/proc/self/cgroup': v1, '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBeUndefined();
    // Hybrid: a v2 line for the unified hierarchy, the cpu controller still on v1.
    const hybrid = '1:cpu:/\n0::/\n';
    expect(cgroupQuota(files({ '/proc/self/cgroup': hybrid, '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBe(1);
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
