/**
 * Exponential moving average, TensorBoard style: `weight` 0 is the raw curve,
 * 0.99 very smooth. Debiased at the start so the curve does not begin at zero.
 * Writes into `out` (reused between frames to avoid garbage) and returns the
 * filled view.
 */
export function smoothInto(
  values: ArrayLike<number>,
  weight: number,
  out: Float64Array,
): Float64Array {
  if (out.length < values.length) throw new RangeError('output buffer shorter than input');
  const w = Math.min(Math.max(weight, 0), 0.999);
  let last = 0;
  let debias = 1;
  for (let i = 0; i < values.length; i++) {
    // A gap stays a gap and does not poison the average after it.
    if (Number.isNaN(values[i])) {
      out[i] = Number.NaN;
      continue;
    }
    last = last * w + (1 - w) * values[i];
    debias *= w;
    out[i] = w === 0 ? values[i] : last / (1 - debias);
  }
  return out.subarray(0, values.length);
}
