// The benchmarks' statistics helpers against values worked out by hand.
import { describe, expect, it } from 'vitest';
import { meanInterval, percentile, summarize } from './stats.ts';

describe('bench stats', () => {
  it('percentile is the nearest-rank value', () => {
    const s = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(percentile(s, 50)).toBe(5);
    expect(percentile(s, 99)).toBe(10);
    expect(summarize([3, 1, 2]).p50).toBe(2);
  });

  it('meanInterval: mean ± t(0.975, n-1) · s / √n', () => {
    // 2, 4, 6: mean 4, s = 2, t(2 df) = 4.303 → half width 4.303 · 2 / √3 = 4.9687.
    const k = meanInterval([2, 4, 6]);
    expect(k?.mean).toBe(4);
    expect(k?.low).toBeCloseTo(4 - 4.9687, 3);
    expect(k?.high).toBeCloseTo(4 + 4.9687, 3);
    expect(k?.n).toBe(3);
    // Identical repetitions: no spread.
    expect(meanInterval([1.5, 1.5, 1.5, 1.5])).toEqual({ mean: 1.5, low: 1.5, high: 1.5, n: 4 });
    // Beyond 31 values the normal quantile.
    const many = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0 : 2));
    const m = meanInterval(many);
    expect(m?.high).toBeCloseTo(1 + (1.96 * Math.sqrt(40 / 39)) / Math.sqrt(40), 6);
    expect(meanInterval([7])).toBeUndefined();
  });
});
