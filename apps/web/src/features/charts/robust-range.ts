/** Share of the values left out at each end when a chart ignores outliers. */
export const OUTLIER_QUANTILE = 0.01;
/** Most values sorted to find the percentiles; more are sampled evenly. */
export const MAX_RANGE_SAMPLE = 4096;

/**
 * A y range from the 1st to the 99th percentile of the finite values (with
 * a little padding), so one diverging spike does not flatten the rest of
 * the curve. Undefined when there are no finite values.
 */
export function robustRange(
  columns: readonly ArrayLike<number | null>[],
  quantile = OUTLIER_QUANTILE,
): [number, number] | undefined {
  let total = 0;
  for (const column of columns) total += column.length;
  const stride = Math.max(1, Math.ceil(total / MAX_RANGE_SAMPLE));
  const sample: number[] = [];
  let position = 0;
  for (const column of columns) {
    for (let i = 0; i < column.length; i++, position++) {
      if (position % stride !== 0) continue;
      const value = column[i];
      if (value !== null && Number.isFinite(value)) sample.push(value);
    }
  }
  if (sample.length === 0) return undefined;
  sample.sort((a, b) => a - b);
  const low = sample[Math.floor(quantile * (sample.length - 1))];
  const high = sample[Math.ceil((1 - quantile) * (sample.length - 1))];
  const pad = (high - low) * 0.05 || Math.abs(high) * 0.05 || 1;
  return [low - pad, high + pad];
}
