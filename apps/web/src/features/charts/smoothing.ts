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
  const w = clampWeight(weight);
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

/** How a chart smooths its lines. */
export type SmoothingMode = 'ema' | 'time-ema' | 'average' | 'off';

export interface Smoothing {
  mode: SmoothingMode;
  /** EMA weight (0-0.999) for `ema` and `time-ema`. */
  weight: number;
  /** Points averaged for `average`. */
  window: number;
}

export const DEFAULT_SMOOTHING: Smoothing = { mode: 'ema', weight: 0.6, window: 10 };
/** Largest running-average window: beyond it the line says nothing the EMA does not. */
export const MAX_AVERAGE_WINDOW = 1000;

/**
 * Time-weighted EMA: each point's weight is `weight` raised to its gap over
 * the median gap, so evenly spaced points give the plain EMA and a point
 * after a long pause (a resumed run, sparse evaluation) forgets more of
 * what came before it. `xs` are the points' times (or steps), ascending.
 */
export function timeWeightedSmoothInto(
  xs: ArrayLike<number>,
  values: ArrayLike<number>,
  weight: number,
  out: Float64Array,
): Float64Array {
  if (out.length < values.length) throw new RangeError('output buffer shorter than input');
  const w = clampWeight(weight);
  const typical = medianGap(xs, values.length);
  let last = 0;
  let debias = 1;
  let previous = Number.NaN;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) {
      out[i] = Number.NaN;
      continue;
    }
    const gap = Number.isNaN(previous) ? typical : xs[i] - previous;
    previous = xs[i];
    const decay = w === 0 || typical <= 0 ? w : w ** Math.max(gap / typical, 0);
    last = last * decay + (1 - decay) * values[i];
    debias *= decay;
    out[i] = decay === 0 || debias >= 1 ? values[i] : last / (1 - debias);
  }
  return out.subarray(0, values.length);
}

/** Mean of the last `window` finite values at each point; a gap stays a gap. */
export function runningAverageInto(
  values: ArrayLike<number>,
  window: number,
  out: Float64Array,
): Float64Array {
  if (out.length < values.length) throw new RangeError('output buffer shorter than input');
  const size = Math.min(Math.max(Math.round(window), 1), MAX_AVERAGE_WINDOW);
  // The window's finite values, as a ring: the oldest is overwritten next.
  const ring = new Float64Array(size);
  let next = 0;
  let held = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (Number.isNaN(value)) {
      out[i] = Number.NaN;
      continue;
    }
    if (held === size) sum -= ring[next];
    else held++;
    ring[next] = value;
    sum += value;
    next = (next + 1) % size;
    out[i] = sum / held;
  }
  return out.subarray(0, values.length);
}

/** Smooths one line by `smoothing`; `xs` matter only to the time-weighted EMA. */
export function smoothLine(
  xs: ArrayLike<number>,
  values: ArrayLike<number>,
  smoothing: Smoothing,
  out: Float64Array,
): Float64Array {
  switch (smoothing.mode) {
    case 'ema':
      return smoothInto(values, smoothing.weight, out);
    case 'time-ema':
      return timeWeightedSmoothInto(xs, values, smoothing.weight, out);
    case 'average':
      return runningAverageInto(values, smoothing.window, out);
    case 'off': {
      if (out.length < values.length) throw new RangeError('output buffer shorter than input');
      for (let i = 0; i < values.length; i++) out[i] = values[i];
      return out.subarray(0, values.length);
    }
  }
}

function clampWeight(weight: number): number {
  return Math.min(Math.max(weight, 0), 0.999);
}

/** Median distance between consecutive x (at most 1,001 gaps sampled: enough for a median). */
function medianGap(xs: ArrayLike<number>, length: number): number {
  if (length < 2) return 1;
  const stride = Math.max(1, Math.floor((length - 1) / 1000));
  const gaps: number[] = [];
  for (let i = stride; i < length; i += stride) gaps.push(xs[i] - xs[i - stride]);
  gaps.sort((a, b) => a - b);
  return gaps[gaps.length >> 1] / stride || 1;
}
