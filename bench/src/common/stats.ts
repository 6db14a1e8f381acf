/** Summary of a set of samples (milliseconds, microseconds, whatever was recorded). */
export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * The p-th percentile (0..100) of ascending `sorted` values, linearly
 * interpolated between the two nearest ranks. NaN for an empty input.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (p < 0 || p > 100 || Number.isNaN(p))
    throw new RangeError(`percentile ${p} is outside 0..100`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0];
  const rank = (p / 100) * (n - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const weight = rank - lower;
  return sorted[lower] + (sorted[upper] - sorted[lower]) * weight;
}

/** Count, extremes, mean and p50/p95/p99 of `samples` (any order; not modified). */
export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += sorted[i];
  return {
    count: n,
    min: n === 0 ? Number.NaN : sorted[0],
    mean: n === 0 ? Number.NaN : total / n,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: n === 0 ? Number.NaN : sorted[n - 1],
  };
}

/**
 * A bounded sample store. Keeps every sample until `capacity`, then a
 * uniform random subset of that size (reservoir sampling), so a long run
 * cannot grow memory while percentiles stay unbiased.
 */
export class SampleBuffer {
  private readonly values: Float64Array;
  private seen = 0;

  constructor(
    readonly capacity: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    this.values = new Float64Array(capacity);
  }

  /** Samples offered so far (may exceed the number kept). */
  get total(): number {
    return this.seen;
  }

  /** Samples kept (at most `capacity`). */
  get size(): number {
    return Math.min(this.seen, this.capacity);
  }

  add(value: number): void {
    if (this.seen < this.capacity) {
      this.values[this.seen] = value;
    } else {
      const slot = Math.floor(this.random() * (this.seen + 1));
      if (slot < this.capacity) this.values[slot] = value;
    }
    this.seen++;
  }

  /** The kept samples, in no particular order. */
  snapshot(): Float64Array {
    return this.values.slice(0, this.size);
  }

  summary(): Summary {
    return { ...summarize(this.snapshot()), count: this.total };
  }

  clear(): void {
    this.seen = 0;
  }
}

/** product / baseline, or NaN when either side is missing or the baseline is zero. */
export function ratio(product: number, baseline: number): number {
  if (!Number.isFinite(product) || !Number.isFinite(baseline) || baseline === 0) return Number.NaN;
  return product / baseline;
}

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than 2 points. */
export function slope(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i];
    sy += ys[i];
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
