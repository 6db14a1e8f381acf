import type { SeriesWindow } from '@trainwatch/proto';
import type uPlot from 'uplot';
import { smoothLine, type Smoothing } from './smoothing';
import { stepOf, toAxisX, type LineTimeline, type XAxisKind } from './x-axis';

/** One line of a chart: a series of one run. */
export interface PlotLine {
  /** The run (zoom windows are read per run). */
  sessionId: string;
  label: string;
  colour: string;
  /** Steps, or epochs for a per-epoch series, ascending. */
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  /** Each point's bucket minimum and maximum where the data is downsampled. */
  mins?: ArrayLike<number>;
  maxs?: ArrayLike<number>;
  timeline: LineTimeline;
}

/** Where a line's columns sit in the aligned data. */
export interface LineColumns {
  raw: number;
  smoothed: number;
  min?: number;
  max?: number;
}

export interface PlotColumns {
  data: uPlot.AlignedData;
  layout: LineColumns[];
  /** The global step at each x index, for a click on the chart. */
  steps: ArrayLike<number>;
  /** Whether any line has a min/max band (the chart's series depend on it). */
  hasBand: boolean;
}

/**
 * A zoomed window read at full resolution in place of the line's points
 * over it; live points after the window's end follow, so a live run goes on
 * drawing while zoomed. Buckets of a window too long to be exact keep their
 * min and max for the band.
 */
export function withWindow(line: PlotLine, window: SeriesWindow): PlotLine {
  const count = window.lastSteps.length;
  const lastStep = count > 0 ? Number(window.lastSteps[count - 1]) : -Infinity;
  let tail = 0;
  while (tail < line.xs.length && line.xs[line.xs.length - 1 - tail] > lastStep) tail++;
  const xs = new Float64Array(count + tail);
  const ys = new Float64Array(count + tail);
  const mins = window.exact ? undefined : new Float64Array(count + tail);
  const maxs = window.exact ? undefined : new Float64Array(count + tail);
  for (let i = 0; i < count; i++) {
    xs[i] = Number(window.lastSteps[i]);
    ys[i] = window.lasts[i];
    if (mins && maxs) {
      mins[i] = window.mins[i];
      maxs[i] = window.maxs[i];
    }
  }
  for (let i = 0; i < tail; i++) {
    const from = line.xs.length - tail + i;
    xs[count + i] = line.xs[from];
    ys[count + i] = line.ys[from];
    if (mins && maxs) {
      mins[count + i] = line.mins?.[from] ?? line.ys[from];
      maxs[count + i] = line.maxs?.[from] ?? line.ys[from];
    }
  }
  return { ...line, xs, ys, mins, maxs };
}

function axisXs(axis: XAxisKind, line: PlotLine): ArrayLike<number> {
  // The common case (a step series on the step axis) needs no copy.
  if (axis === 'step' && !line.timeline.byEpoch) return line.xs;
  const out = new Float64Array(line.xs.length);
  for (let i = 0; i < out.length; i++) out[i] = toAxisX(axis, line.timeline, line.xs[i]);
  return out;
}

/** The time of each point for the time-weighted EMA: wall time where the run's clock is known. */
function timesOf(line: PlotLine): ArrayLike<number> {
  const clock = line.timeline.clock;
  if (clock === undefined || clock.length === 0) return line.xs;
  const out = new Float64Array(line.xs.length);
  for (let i = 0; i < out.length; i++) out[i] = clock.timeAt(stepOf(line.timeline, line.xs[i]));
  return out;
}

function smoothed(line: PlotLine, smoothing: Smoothing): Float64Array {
  // Only the time-weighted EMA reads the times: the others skip a clock look-up per point per draw.
  const xs = smoothing.mode === 'time-ema' ? timesOf(line) : line.xs;
  return smoothLine(xs, line.ys, smoothing, new Float64Array(line.ys.length));
}

/**
 * uPlot's aligned data for `lines` on `axis`: per line its raw values, its
 * smoothed values and (when any line is downsampled) its min/max band. One
 * line keeps its own x; several are aligned on the union of their x, with
 * null where a line has no point.
 */
export function buildPlotData(
  lines: readonly PlotLine[],
  axis: XAxisKind,
  smoothing: Smoothing,
): PlotColumns {
  const hasBand = lines.some((line) => line.mins !== undefined && line.maxs !== undefined);
  const layout: LineColumns[] = [];
  let column = 1;
  for (let i = 0; i < lines.length; i++) {
    layout.push(
      hasBand
        ? { raw: column, smoothed: column + 1, min: column + 2, max: column + 3 }
        : { raw: column, smoothed: column + 1 },
    );
    column += hasBand ? 4 : 2;
  }
  if (lines.length === 1) {
    const line = lines[0];
    const columns: ArrayLike<number>[] = [axisXs(axis, line), line.ys, smoothed(line, smoothing)];
    if (hasBand) columns.push(line.mins ?? line.ys, line.maxs ?? line.ys);
    const steps = line.timeline.byEpoch
      ? Float64Array.from(line.xs as ArrayLike<number>, (x) => stepOf(line.timeline, x))
      : line.xs;
    // Typed arrays and plain arrays, both of which uPlot reads.
    return { data: columns as unknown as uPlot.AlignedData, layout, steps, hasBand };
  }

  const xsOf = lines.map((line) => axisXs(axis, line));
  const union = unionXs(xsOf);
  const steps = new Float64Array(union.length).fill(Number.NaN);
  const columns: ArrayLike<number | null>[] = [union];
  lines.forEach((line, index) => {
    const raw = new Array<number | null>(union.length).fill(null);
    const smooth = new Array<number | null>(union.length).fill(null);
    const min = hasBand ? new Array<number | null>(union.length).fill(null) : undefined;
    const max = hasBand ? new Array<number | null>(union.length).fill(null) : undefined;
    const values = smoothed(line, smoothing);
    const xs = xsOf[index];
    for (let i = 0; i < xs.length; i++) {
      const position = indexOfX(union, xs[i]);
      if (position < 0) continue;
      raw[position] = line.ys[i];
      smooth[position] = values[i];
      if (Number.isNaN(steps[position])) steps[position] = stepOf(line.timeline, line.xs[i]);
      if (min && max) {
        min[position] = line.mins?.[i] ?? line.ys[i];
        max[position] = line.maxs?.[i] ?? line.ys[i];
      }
    }
    columns.push(raw, smooth);
    if (min && max) columns.push(min, max);
  });
  return { data: columns as unknown as uPlot.AlignedData, layout, steps, hasBand };
}

/**
 * The distinct x of several lines, ascending, NaN left out. Typed arrays
 * sorted natively: aligning 20 runs of 1,000 points this way costs about a
 * millisecond, where a Set, a sort of boxed numbers and a Map of positions
 * cost several on every zoom of every chart.
 */
export function unionXs(lists: readonly ArrayLike<number>[]): Float64Array {
  let total = 0;
  for (const xs of lists) total += xs.length;
  const all = new Float64Array(total);
  let at = 0;
  for (const xs of lists) {
    if (ArrayBuffer.isView(xs)) all.set(xs as unknown as ArrayLike<number>, at);
    else for (let i = 0; i < xs.length; i++) all[at + i] = xs[i];
    at += xs.length;
  }
  // Typed-array sort is numeric and puts NaN last.
  all.sort();
  let distinct = 0;
  for (let i = 0; i < all.length; i++) {
    const x = all[i];
    if (Number.isNaN(x)) break;
    if (distinct === 0 || all[distinct - 1] !== x) all[distinct++] = x;
  }
  return all.slice(0, distinct);
}

/** Position of `x` in ascending `union`, -1 when absent (a binary search: no map to build). */
export function indexOfX(union: ArrayLike<number>, x: number): number {
  let low = 0;
  let high = union.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const value = union[middle];
    if (value === x) return middle;
    if (value < x) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}
