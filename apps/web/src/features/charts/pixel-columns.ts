import type uPlot from 'uplot';
import type { PlotColumns } from './plot-data';

/**
 * Most points a one-line chart is handed per pixel column of its plot; with
 * more, each column's points are merged into one (fitToPixels). A live loss
 * chart 1,211 pixels wide holds up to 20,000 points late in a run: drawn
 * raw, its line and smoothed line cost 4-8 ms of the page's main thread per
 * draw in headless Chromium (path building, then rasterising ~4,800 vertices
 * of a 1.75-pixel stroke), where one point per column and its band cost
 * 1.6-1.9 ms; over a five-minute run that cost grew with the points until it
 * took most of the frames (bench/analysis.md, "The loss chart's points").
 */
export const MAX_POINTS_PER_PIXEL = 2;

/** Canvas pixels per CSS pixel, as uPlot sizes its canvas (its bbox is in canvas pixels). */
export function pixelRatio(): number {
  return typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
}

/**
 * One line's columns merged to at most one point per pixel column when it
 * has more than MAX_POINTS_PER_PIXEL points per column: each column keeps
 * the x, step, value and smoothed value of its last point (the value is NaN
 * when any of its points was, so a gap stays visible) and, as the band, the
 * lowest minimum and highest maximum of its points, so spikes survive. The
 * smoothed line is computed from every point before this. Several lines (the
 * compare view, aligned on shared x with nulls) and x that are not all
 * finite are returned as they are.
 */
export function fitToPixels(built: PlotColumns, pixels: number): PlotColumns {
  const xs = built.data[0] as ArrayLike<number>;
  const count = xs.length;
  const columns = Math.floor(pixels);
  if (built.layout.length !== 1 || columns < 1 || count <= columns * MAX_POINTS_PER_PIXEL) {
    return built;
  }
  const first = xs[0] as number;
  const last = xs[count - 1] as number;
  if (!Number.isFinite(first) || !Number.isFinite(last) || !(last > first)) return built;
  const { raw, smoothed, min, max } = built.layout[0]!;
  const values = built.data[raw] as ArrayLike<number>;
  const smooth = built.data[smoothed] as ArrayLike<number>;
  const lows = min === undefined ? values : (built.data[min] as ArrayLike<number>);
  const highs = max === undefined ? values : (built.data[max] as ArrayLike<number>);

  const outX = new Float64Array(columns);
  const outY = new Float64Array(columns);
  const outSmooth = new Float64Array(columns);
  const outLow = new Float64Array(columns);
  const outHigh = new Float64Array(columns);
  const outStep = new Float64Array(columns);
  const scale = columns / (last - first);
  let at = -1;
  let column = -1;
  let gap = false;
  for (let i = 0; i < count; i++) {
    const x = xs[i] as number;
    if (!Number.isFinite(x)) return built;
    const next = Math.min(columns - 1, Math.floor((x - first) * scale));
    if (next !== column) {
      column = next;
      at++;
      gap = false;
      outLow[at] = Infinity;
      outHigh[at] = -Infinity;
    }
    const value = values[i] as number;
    if (Number.isNaN(value)) gap = true;
    outX[at] = x;
    outStep[at] = built.steps[i] as number;
    outY[at] = gap ? Number.NaN : value;
    outSmooth[at] = smooth[i] as number;
    // NaN compares false: a gap's bucket keeps the range of its finite points.
    const low = lows[i] as number;
    const high = highs[i] as number;
    if (low < outLow[at]!) outLow[at] = low;
    if (high > outHigh[at]!) outHigh[at] = high;
  }
  const kept = at + 1;
  for (let i = 0; i < kept; i++) {
    if (outLow[i] === Infinity) outLow[i] = Number.NaN;
    if (outHigh[i] === -Infinity) outHigh[i] = Number.NaN;
  }
  return {
    data: [
      outX.subarray(0, kept),
      outY.subarray(0, kept),
      outSmooth.subarray(0, kept),
      outLow.subarray(0, kept),
      outHigh.subarray(0, kept),
    ] as unknown as uPlot.AlignedData,
    layout: [{ raw: 1, smoothed: 2, min: 3, max: 4 }],
    steps: outStep.subarray(0, kept),
    hasBand: true,
  };
}
