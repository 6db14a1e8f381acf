/**
 * The watchdog's rules as pure functions over recorded series: each takes
 * the values (or times) a session produced and its rule's threshold and
 * window, and says whether the rule fires now. No state, no clock: the
 * caller keeps the bounded windows and passes the time.
 */

/** Median of `values` (not changed); NaN for none. */
export function median(values: readonly number[]): number {
  return sortedMedian(copyInto(values, values.length, 0).sort());
}

/**
 * Scratch arrays of the loss-spike rule, grown to the largest window asked
 * for. It runs on every batch of every run (3,000 times a second at 50
 * trainers): copying a window with `Float64Array.from` (the iterator path)
 * and two fresh arrays per batch were ~4% of the event loop (CPU profile at
 * 50 trainers); a typed array also sorts numerically in native code.
 */
const scratch: Float64Array[] = [new Float64Array(64), new Float64Array(64)];

/** Scratch array `slot`, `size` long. */
function scratchOf(slot: 0 | 1, size: number): Float64Array {
  let held = scratch[slot] as Float64Array;
  if (held.length < size) {
    held = new Float64Array(Math.max(size, held.length * 2));
    scratch[slot] = held;
  }
  return held.subarray(0, size);
}

/** The last `count` of `values` in scratch array `slot` (not sorted yet). */
function copyInto(values: readonly number[], count: number, slot: 0 | 1): Float64Array {
  const held = scratchOf(slot, count);
  const start = values.length - count;
  for (let index = 0; index < count; index++) held[index] = values[start + index] as number;
  return held;
}

/** Median of an ascending array; NaN for none. */
function sortedMedian(sorted: Float64Array): number {
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** A value a chart cannot draw as a number: NaN or ±Infinity. */
export function isNonFinite(value: number): boolean {
  return !Number.isFinite(value);
}

/** Fewest earlier points a spike is measured against: fewer say nothing about spread. */
export const SPIKE_MIN_POINTS = 10;

/**
 * Robust z-score of `value` against `sorted` (earlier finite points,
 * ascending) and their median: (value − median) / (1.4826 × MAD), the MAD
 * scaled to a standard deviation of normal noise. A flat window (MAD 0)
 * measures against 1 % of the median instead, so a constant loss followed
 * by a jump still counts.
 */
function zAbove(sorted: Float64Array, center: number, value: number): number {
  const deviations = scratchOf(1, sorted.length);
  for (let index = 0; index < sorted.length; index++) {
    deviations[index] = Math.abs((sorted[index] as number) - center);
  }
  const mad = sortedMedian(deviations.sort());
  const spread = 1.4826 * mad || Math.abs(center) * 0.01 || Number.EPSILON;
  return (value - center) / spread;
}

/**
 * Loss spike: `value` sits more than `threshold` (>= 0, see alert-rules.ts)
 * robust z-scores above the last `count` of `losses`.
 */
export function isLossSpike(
  losses: readonly number[],
  value: number,
  threshold: number,
  count = losses.length,
): boolean {
  const size = Math.min(count, losses.length);
  if (!Number.isFinite(value) || size < SPIKE_MIN_POINTS) return false;
  const sorted = copyInto(losses, size, 0).sort();
  const center = sortedMedian(sorted);
  // Not above the median: a z-score of 0 or less, under any threshold (most batches stop here).
  if (!(value > center)) return false;
  return zAbove(sorted, center, value) > threshold;
}

/**
 * Divergence: each of the last `window` losses is above the running minimum
 * by more than `threshold` × |minimum| (1 = twice the best loss). `losses`
 * are the finite losses in order; `runningMin` the best one seen, also
 * before the window.
 */
export function isDiverging(
  recent: readonly number[],
  runningMin: number,
  threshold: number,
  window: number,
): boolean {
  if (!Number.isFinite(runningMin) || recent.length < window || window <= 0) return false;
  const bound = runningMin + threshold * Math.abs(runningMin);
  for (let index = recent.length - window; index < recent.length; index++) {
    if ((recent[index] as number) <= bound) return false;
  }
  return true;
}

/**
 * Plateau: over the last `window` losses the best improved on the best
 * before them by less than `threshold` (a fraction of that earlier best).
 * Needs two windows of points.
 */
export function isPlateau(losses: readonly number[], threshold: number, window: number): boolean {
  if (window <= 0 || losses.length < 2 * window) return false;
  const split = losses.length - window;
  let before = Number.POSITIVE_INFINITY;
  for (let index = split - window; index < split; index++) {
    before = Math.min(before, losses[index] as number);
  }
  let after = Number.POSITIVE_INFINITY;
  for (let index = split; index < losses.length; index++) {
    after = Math.min(after, losses[index] as number);
  }
  if (!Number.isFinite(before) || !Number.isFinite(after)) return false;
  return before - after < threshold * Math.abs(before);
}

/**
 * How long without a batch is a stall: `factor` × the median interval
 * between recent batches, never less than `minimumMs`.
 */
export function stallAfterMs(
  intervalsMs: readonly number[],
  factor: number,
  minimumMs: number,
): number {
  const typical = median(intervalsMs);
  return Number.isFinite(typical) ? Math.max(minimumMs, factor * typical) : minimumMs;
}

/** Stall: no batch for longer than stallAfterMs. Never before the first batch. */
export function isStalled(
  lastBatchAtMs: number | undefined,
  nowMs: number,
  intervalsMs: readonly number[],
  factor: number,
  minimumMs: number,
): boolean {
  if (lastBatchAtMs === undefined) return false;
  return nowMs - lastBatchAtMs > stallAfterMs(intervalsMs, factor, minimumMs);
}

/** One utilisation sample of a GPU series. */
export interface Sample {
  atMs: number;
  value: number;
}

/**
 * GPU idle: every sample of the last `windowMs` is under `threshold`
 * percent, and the samples cover the whole window (a run that just started
 * has not been idle "for minutes").
 */
export function isGpuIdle(
  samples: readonly Sample[],
  nowMs: number,
  threshold: number,
  windowMs: number,
): boolean {
  const first = samples[0];
  if (first === undefined || nowMs - first.atMs < windowMs) return false;
  let inWindow = 0;
  for (const sample of samples) {
    if (sample.atMs < nowMs - windowMs) continue;
    if (!(sample.value < threshold)) return false;
    inWindow += 1;
  }
  return inWindow > 0;
}
