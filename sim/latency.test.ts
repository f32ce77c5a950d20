// Tests for the latency model: defaults, jitter bounds, determinism and load scaling.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LATENCY, firstTokenDelayMs, interTokenDelayMs, resolveLatency } from './latency.ts';
import { mulberry32 } from './random.ts';

describe('latency model', () => {
  it('uses documented defaults', () => {
    expect(resolveLatency({})).toEqual(DEFAULT_LATENCY);
    expect(resolveLatency({ itlMs: -5, jitter: 3 })).toMatchObject({ itlMs: 0, jitter: 1 });
  });

  it('is exact with jitter 0', () => {
    const cfg = resolveLatency({ jitter: 0, loadFactor: 0 });
    const rand = mulberry32(1);
    expect(firstTokenDelayMs(cfg, 100, rand)).toBeCloseTo(180 + 15);
    expect(firstTokenDelayMs(cfg, 100, rand, 10)).toBeCloseTo(1950);
    expect(interTokenDelayMs(cfg, 50, rand)).toBe(28);
  });

  it('keeps jitter within bounds and is deterministic per seed', () => {
    const cfg = resolveLatency({ loadFactor: 0 });
    const a = mulberry32(42);
    const b = mulberry32(42);
    for (let i = 0; i < 1000; i++) {
      const x = interTokenDelayMs(cfg, 1, a);
      expect(x).toBeGreaterThanOrEqual(28 * 0.8);
      expect(x).toBeLessThanOrEqual(28 * 1.2);
      expect(interTokenDelayMs(cfg, 1, b)).toBe(x);
    }
  });

  it('slows decoding as the batch grows', () => {
    const cfg = resolveLatency({ jitter: 0 });
    const r = mulberry32(0);
    expect(interTokenDelayMs(cfg, 129, r)).toBeCloseTo(28 * (1 + 0.002 * 128));
  });
});
