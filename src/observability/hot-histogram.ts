// A Prometheus histogram for per-token and per-audio-chunk observations: observe() is a bound
// search and three additions on typed arrays (no label hashing, no closure; prom-client's
// Histogram.observe costs several times more), and the registry reads it at scrape time through
// prom-client's metric contract (get() → name, help, type, values).
import type { Metric, Registry } from 'prom-client';

interface HistogramValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

export class HotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  /** counts[k] = observations in (bounds[k-1], bounds[k]]; the last slot is +Inf. */
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    registry: Registry,
  ) {
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, k) => !Number.isFinite(b) || (k > 0 && b === sorted[k - 1]))) {
      throw new Error(`histogram ${name}: buckets must be distinct finite numbers`);
    }
    this.bounds = Float64Array.from(sorted);
    this.counts = new Float64Array(sorted.length + 1);
    // prom-client types its registry with its own classes; this object honours the same contract.
    registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    const b = this.bounds;
    let k = 0;
    while (k < b.length && value > (b[k] as number)) k++;
    this.counts[k] = (this.counts[k] as number) + 1;
    this.total++;
    this.sum += value;
  }

  /** Observations so far (tests and benchmarks). */
  get count(): number {
    return this.total;
  }

  /** prom-client's metric contract: cumulative `_bucket` series with `le`, then `_sum` and `_count`. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramValue[] }> {
    const values: HistogramValue[] = [];
    let cumulative = 0;
    for (let k = 0; k < this.counts.length; k++) {
      cumulative += this.counts[k] as number;
      const le = k < this.bounds.length ? (this.bounds[k] as number) : '+Inf';
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.total });
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values });
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
  }
}
