// Circuit breaker: thresholds, the immediate open on UNAVAILABLE, probing on fake timers, and no
// timer left behind after recovery or dispose().
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Breaker } from './breaker.ts';
import type { BreakerOptions } from './breaker.ts';

let probeAnswer: () => Promise<boolean>;
let changes: string[];

function breaker(over: Partial<BreakerOptions> = {}): Breaker {
  return new Breaker({
    failureThreshold: 3,
    probeIntervalMs: 2000,
    probeTimeoutMs: 1000,
    probe: () => probeAnswer(),
    now: () => Date.now(),
    onChange: (up, code) => changes.push(up ? 'up' : `down:${code ?? ''}`),
    ...over,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  probeAnswer = () => Promise.resolve(false);
  changes = [];
});
afterEach(() => {
  vi.useRealTimers();
});

describe('breaker', () => {
  it('opens after failureThreshold consecutive failures; a success resets the count', () => {
    const b = breaker();
    b.failure('UPSTREAM_OVERLOADED');
    b.failure('UPSTREAM_RESET');
    b.success(Date.now());
    b.failure('UPSTREAM_TIMEOUT');
    b.failure('UPSTREAM_TIMEOUT');
    expect(b.up).toBe(true);
    b.failure('UPSTREAM_OVERLOADED');
    expect(b.up).toBe(false);
    expect(changes).toEqual(['down:UPSTREAM_OVERLOADED']);
    b.dispose();
  });

  it('opens on the first UPSTREAM_UNAVAILABLE (connection refused)', () => {
    const b = breaker();
    b.failure('UPSTREAM_UNAVAILABLE');
    expect(b.up).toBe(false);
    expect(b.probing).toBe(true);
    b.dispose();
  });

  it('probes every probeIntervalMs while down and closes on a healthy answer, leaving no timer', async () => {
    const b = breaker();
    let probes = 0;
    probeAnswer = () => {
      probes++;
      return Promise.resolve(probes >= 2);
    };
    b.failure('UPSTREAM_UNAVAILABLE');
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1999);
    expect(probes).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(probes).toBe(1);
    expect(b.up).toBe(false);
    await vi.advanceTimersByTimeAsync(2000);
    expect(probes).toBe(2);
    expect(b.up).toBe(true);
    expect(changes).toEqual(['down:UPSTREAM_UNAVAILABLE', 'up']);
    expect(vi.getTimerCount()).toBe(0);
    // closed again: the failure count starts over
    b.failure('UPSTREAM_OVERLOADED');
    expect(b.up).toBe(true);
  });

  it('counts a probe that hangs past probeTimeoutMs as failed and keeps probing', async () => {
    const b = breaker();
    let probes = 0;
    probeAnswer = () => {
      probes++;
      return probes === 1 ? new Promise<boolean>(() => undefined) : Promise.resolve(true);
    };
    b.failure('UPSTREAM_UNAVAILABLE');
    await vi.advanceTimersByTimeAsync(2000 + 1000);
    expect(probes).toBe(1);
    expect(b.up).toBe(false);
    await vi.advanceTimersByTimeAsync(2000);
    expect(probes).toBe(2);
    expect(b.up).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('dispose() clears the probe timer (also during a probe) and no probe runs afterwards', async () => {
    const b = breaker();
    let probes = 0;
    probeAnswer = () => {
      probes++;
      return new Promise<boolean>(() => undefined);
    };
    b.failure('UPSTREAM_UNAVAILABLE');
    await vi.advanceTimersByTimeAsync(2000);
    expect(probes).toBe(1);
    expect(vi.getTimerCount()).toBe(1); // the hung probe's guard
    b.dispose();
    expect(vi.getTimerCount()).toBe(0);
    expect(b.probing).toBe(false);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(probes).toBe(1);
  });

  it('a success from a request that started before the breaker opened does not close it', () => {
    const b = breaker();
    const before = Date.now();
    vi.advanceTimersByTime(10);
    b.failure('UPSTREAM_UNAVAILABLE');
    b.success(before);
    expect(b.up).toBe(false);
    b.success(Date.now());
    expect(b.up).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a failed trial while down re-arms openedAt (so all-down trials rotate)', () => {
    const b = breaker();
    b.failure('UPSTREAM_UNAVAILABLE');
    const first = b.openedAt;
    vi.advanceTimersByTime(500);
    b.failure('UPSTREAM_RESET');
    expect(b.openedAt).toBe(first + 500);
    expect(vi.getTimerCount()).toBe(1); // still one timer
    b.dispose();
  });
});
