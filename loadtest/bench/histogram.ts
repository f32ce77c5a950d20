// Pure histogram helpers of the benchmarks: quantiles of the difference of two cumulative
// Prometheus histograms (linear interpolation within a bucket, as PromQL's histogram_quantile),
// the exact share of observations at or below a bucket bound, and a fixed-width histogram for
// latencies sampled in the load generator (no per-sample allocation).

/** Cumulative Prometheus buckets: upper bound (seconds; Infinity for +Inf) → cumulative count. */
export type CumulativeBuckets = Map<number, number>;

/** Buckets of `after − before`, sorted by bound, cumulative. */
export function bucketDelta(before: CumulativeBuckets, after: CumulativeBuckets): { bound: number; cum: number }[] {
  return [...after.keys()].sort((a, b) => a - b).map((bound) => ({ bound, cum: (after.get(bound) ?? 0) - (before.get(bound) ?? 0) }));
}

/** Observations between the two scrapes. */
export function bucketTotal(before: CumulativeBuckets, after: CumulativeBuckets): number {
  return (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
}

/**
 * Quantile q (0..1) of the observations between two scrapes, linearly interpolated within its
 * bucket (the first bucket starts at 0). When the quantile falls in the +Inf bucket the largest
 * finite bound is returned (a lower bound of the true value), as histogram_quantile does.
 * NaN when nothing was observed.
 */
export function interpolatedQuantile(before: CumulativeBuckets, after: CumulativeBuckets, q: number): number {
  const d = bucketDelta(before, after);
  const total = bucketTotal(before, after);
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCum = 0;
  for (const { bound, cum } of d) {
    if (cum >= rank && cum > prevCum) {
      if (bound === Infinity) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCum)) / (cum - prevCum);
    }
    if (bound !== Infinity) prevBound = bound;
    prevCum = cum;
  }
  return prevBound;
}

/** Observations ≤ `bound` between two scrapes; `bound` must be one of the histogram's bounds
 *  (then the count is exact, not estimated). */
export function countAtOrBelow(before: CumulativeBuckets, after: CumulativeBuckets, bound: number): number {
  if (!after.has(bound)) throw new Error(`${bound} is not a bucket bound (bounds: ${[...after.keys()].join(', ')})`);
  return (after.get(bound) ?? 0) - (before.get(bound) ?? 0);
}

/** The upper bound of the highest bucket that received an observation (Infinity: above all bounds). */
export function highestBucket(before: CumulativeBuckets, after: CumulativeBuckets): number {
  let prevCum = 0;
  let top = 0;
  for (const { bound, cum } of bucketDelta(before, after)) {
    if (cum > prevCum) top = bound;
    prevCum = cum;
  }
  return top;
}

/** Fixed-width histogram of non-negative values (ms): `binMs` wide bins up to `maxMs`, beyond that
 *  only counted (and the maximum kept). Quantiles are bin upper edges (conservative by < binMs). */
export class LinearHistogram {
  private readonly bins: Float64Array;
  count = 0;
  sum = 0;
  max = 0;
  overflow = 0;

  constructor(
    readonly binMs = 0.05,
    readonly maxMs = 2_000,
  ) {
    this.bins = new Float64Array(Math.ceil(maxMs / binMs));
  }

  add(v: number): void {
    const x = v < 0 ? 0 : v;
    this.count++;
    this.sum += x;
    if (x > this.max) this.max = x;
    const i = Math.floor(x / this.binMs);
    if (i >= this.bins.length) this.overflow++;
    else this.bins[i] = (this.bins[i] as number) + 1;
  }

  /** q in 0..1; NaN when empty; the maximum when it falls among the overflow. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let acc = 0;
    for (let i = 0; i < this.bins.length; i++) {
      acc += this.bins[i] as number;
      if (acc >= rank) return Math.min((i + 1) * this.binMs, this.max);
    }
    return this.max;
  }

  /** Share of values ≤ v (v rounded down to a bin edge). */
  fractionAtOrBelow(v: number): number {
    if (this.count === 0) return Number.NaN;
    const end = Math.min(this.bins.length, Math.floor(v / this.binMs));
    let acc = 0;
    for (let i = 0; i < end; i++) acc += this.bins[i] as number;
    return acc / this.count;
  }

  get mean(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }

  reset(): void {
    this.bins.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
    this.overflow = 0;
  }
}
