import { describe, expect, it, vi } from 'vitest';
import { KeepaliveWheel } from './keepalive-wheel.ts';

const member = () => ({ keepaliveTick: vi.fn() });

describe('KeepaliveWheel', () => {
  it('visits every member exactly once per period, a fraction of them per tick', () => {
    const wheel = new KeepaliveWheel(1000, 10);
    const ms = Array.from({ length: 95 }, member);
    for (const m of ms) wheel.add(m);
    const perTick: number[] = [];
    for (let t = 0; t < 10; t++) {
      const before = ms.reduce((a, m) => a + m.keepaliveTick.mock.calls.length, 0);
      wheel.tick();
      perTick.push(ms.reduce((a, m) => a + m.keepaliveTick.mock.calls.length, 0) - before);
    }
    for (const m of ms) expect(m.keepaliveTick).toHaveBeenCalledTimes(1);
    expect(Math.max(...perTick)).toBe(10);
    expect(Math.min(...perTick)).toBe(9);
  });

  it('stops visiting removed members, including one removed during its own tick', () => {
    const wheel = new KeepaliveWheel(100, 1);
    const a = member();
    const b = { keepaliveTick: vi.fn(() => wheel.delete(b)) };
    wheel.add(a);
    wheel.add(b);
    wheel.tick();
    wheel.tick();
    expect(b.keepaliveTick).toHaveBeenCalledTimes(1);
    expect(a.keepaliveTick).toHaveBeenCalledTimes(2);
    wheel.delete(a);
    wheel.tick();
    expect(a.keepaliveTick).toHaveBeenCalledTimes(2);
    expect(wheel.size).toBe(0);
  });

  it('runs on its own timer at period / slots and stops', () => {
    vi.useFakeTimers();
    try {
      const wheel = new KeepaliveWheel(200, 4);
      const ms = Array.from({ length: 4 }, member);
      for (const m of ms) wheel.add(m);
      wheel.start();
      vi.advanceTimersByTime(50);
      expect(ms.map((m) => m.keepaliveTick.mock.calls.length)).toEqual([1, 0, 0, 0]);
      vi.advanceTimersByTime(150);
      expect(ms.map((m) => m.keepaliveTick.mock.calls.length)).toEqual([1, 1, 1, 1]);
      wheel.stop();
      vi.advanceTimersByTime(1000);
      expect(ms.map((m) => m.keepaliveTick.mock.calls.length)).toEqual([1, 1, 1, 1]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a non-positive period', () => {
    expect(() => new KeepaliveWheel(0)).toThrow(RangeError);
  });
});
