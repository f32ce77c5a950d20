// HotHistogram scrapes exactly like a prom-client Histogram fed the same observations.
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotHistogram } from './hot-histogram.ts';

const BUCKETS = [0.00001, 0.000025, 0.0001, 0.001, 0.01, 0.1];

describe('HotHistogram', () => {
  it('exposes the same text as prom-client for the same observations', async () => {
    const a = new Registry();
    const b = new Registry();
    const hot = new HotHistogram('x_seconds', 'Some help', BUCKETS, a);
    const ref = new Histogram({ name: 'x_seconds', help: 'Some help', buckets: BUCKETS, registers: [b] });
    for (const v of [0, 0.00001, 0.0000100001, 0.00002, 0.0005, 0.05, 0.1, 0.2, 7, 0.000024]) {
      hot.observe(v);
      ref.observe(v);
    }
    expect(await a.metrics()).toBe(await b.metrics());
    expect(hot.count).toBe(10);
  });

  it('resets, and rejects unusable buckets', async () => {
    const r = new Registry();
    const hot = new HotHistogram('y_seconds', 'h', [1, 2], r);
    hot.observe(1.5);
    hot.reset();
    expect(await r.metrics()).toContain('y_seconds_count 0');
    expect(() => new HotHistogram('z', 'h', [], new Registry())).toThrow(/buckets/);
    expect(() => new HotHistogram('z', 'h', [1, 1], new Registry())).toThrow(/buckets/);
    expect(() => new HotHistogram('z', 'h', [1, Infinity], new Registry())).toThrow(/buckets/);
  });
});
