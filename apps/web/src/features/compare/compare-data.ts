import { LOSS_SERIES, SeriesKind, type SeriesWindow, type SessionSummary } from '@trainwatch/proto';
import { unionXs, type PlotLine } from '../charts/plot-data';
import { ZOOM_WINDOW_POINTS } from '../charts/window-fetcher';
import { StepClock } from '../series/store/step-clock';

/** Runs one comparison overlays at most, and at least. */
export const MAX_COMPARED_RUNS = 20;
export const MIN_COMPARED_RUNS = 2;
/** Most buckets asked per series and run when the view opens (QuerySeries max_points). */
export const COMPARE_POINTS = 1000;
/** Fewest buckets asked on open, however narrow the page. */
export const MIN_COMPARE_POINTS = 200;
/**
 * CSS pixels of page width per bucket asked on open. A chart spans a little
 * less than the page; with its min/max band a bucket every two pixels draws
 * what a bucket per pixel would, for 20 runs at 1,280 px 40% fewer bytes to
 * decode and points to align and stroke than 1,000 buckets each.
 */
export const COMPARE_PX_PER_BUCKET = 2;

/** Buckets asked per series and run on open, for a page `widthPx` wide. */
export function compareOpenPoints(widthPx: number): number {
  const fit = Math.ceil((Number.isFinite(widthPx) ? widthPx : 0) / COMPARE_PX_PER_BUCKET);
  return Math.min(COMPARE_POINTS, Math.max(MIN_COMPARE_POINTS, fit));
}
/**
 * QuerySeries calls in flight at once while the view opens: Chromium opens
 * at most 6 HTTP/1.1 connections per host, so more would only wait in the
 * browser, and bounded they come back in the order asked.
 */
export const COMPARE_READS_IN_FLIGHT = 6;
/**
 * Points a zoomed compare chart asks for across all its runs: each run's
 * window gets its share, at least what the view opened with (a bucket per
 * COMPARE_PX_PER_BUCKET pixels) and at most the single-run
 * ZOOM_WINDOW_POINTS. Two runs keep full resolution up to 6,400 points a
 * window; twenty get what they opened with, a bucket per two pixels each
 * (with their min/max band): at 1,280 px the browser decodes, aligns and
 * strokes a third less on every zoom than at 1,000 buckets each.
 */
export const COMPARE_ZOOM_POINTS_TOTAL = 12_800;

/** Points per run and zoomed window when `runs` runs are compared on a page `widthPx` wide. */
export function compareWindowPoints(runs: number, widthPx: number): number {
  const share = Math.floor(COMPARE_ZOOM_POINTS_TOTAL / Math.max(1, runs));
  return Math.min(ZOOM_WINDOW_POINTS, Math.max(compareOpenPoints(widthPx), share));
}

/** A colour per run, in selection order (distinct on dark and light backgrounds). */
export const RUN_COLOURS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export interface ComparedRun {
  sessionId: string;
  summary: SessionSummary | undefined;
  series: Map<string, SeriesWindow>;
}

/** A series at least two runs have, with its kind. */
export interface SharedSeries {
  name: string;
  kind: SeriesKind;
  /** Runs (by index) that have it. */
  runs: number[];
}

/** Series held by two runs or more, loss first, then by name. */
export function sharedSeries(runs: readonly ComparedRun[]): SharedSeries[] {
  const byName = new Map<string, SharedSeries>();
  runs.forEach((run, index) => {
    for (const [name, window] of run.series) {
      const entry = byName.get(name) ?? { name, kind: window.kind, runs: [] };
      entry.runs.push(index);
      byName.set(name, entry);
    }
  });
  return [...byName.values()]
    .filter((entry) => entry.runs.length >= Math.min(MIN_COMPARED_RUNS, runs.length))
    .sort((a, b) =>
      a.name === 'loss' ? -1 : b.name === 'loss' ? 1 : a.name.localeCompare(b.name),
    );
}

/**
 * One series of every run on a common x axis (the union of their steps),
 * as uPlot's aligned data: x, then one column per run with null where a run
 * has no point at that x.
 */
export function alignSeries(
  runs: readonly ComparedRun[],
  name: string,
): [number[], ...(number | null)[][]] {
  const xs = new Set<number>();
  for (const run of runs)
    for (const step of run.series.get(name)?.lastSteps ?? []) xs.add(Number(step));
  const x = [...xs].sort((a, b) => a - b);
  const at = new Map(x.map((value, index) => [value, index]));
  const columns = runs.map((run) => {
    const column: (number | null)[] = new Array<number | null>(x.length).fill(null);
    const window = run.series.get(name);
    window?.lastSteps.forEach((step, index) => {
      column[at.get(Number(step)) as number] = window.lasts[index] ?? null;
    });
    return column;
  });
  return [x, ...columns];
}

/** Distinct steps of series `name` over every run (the points of its compare chart). */
export function distinctSteps(runs: readonly ComparedRun[], name: string): number {
  return unionXs(
    runs.map((run) => Float64Array.from(run.series.get(name)?.lastSteps ?? [], Number)),
  ).length;
}

export interface HyperparameterRow {
  key: string;
  /** The value per run, '—' when a run has none. */
  values: string[];
  /** True when the runs do not all have the same value. */
  differs: boolean;
}

/** Every hyperparameter key of the runs, keys that differ first, then by name. */
export function hyperparameterRows(
  runs: readonly ComparedRun[],
  format: (run: ComparedRun, key: string) => string | undefined,
): HyperparameterRow[] {
  const keys = new Set<string>();
  for (const run of runs)
    for (const key of Object.keys(run.summary?.metadata?.hyperparameters ?? {})) keys.add(key);
  return [...keys]
    .map((key) => {
      const values = runs.map((run) => format(run, key) ?? '—');
      return { key, values, differs: new Set(values).size > 1 };
    })
    .sort((a, b) => Number(b.differs) - Number(a.differs) || a.key.localeCompare(b.key));
}

/** When each step of a run happened, from the wall times of its step series' windows. */
export function runClock(run: ComparedRun): StepClock {
  const clock = new StepClock();
  const windows = [...run.series.values()].filter(
    (window) => window.kind !== SeriesKind.EPOCH && window.timestampsMs.length > 0,
  );
  // The loss has a point per batch: the finest clock a run has.
  windows.sort((a, b) => Number(b.name === LOSS_SERIES) - Number(a.name === LOSS_SERIES));
  const source = windows[0];
  source?.lastSteps.forEach((step, index) =>
    clock.note(Number(step), Number(source.timestampsMs[index] ?? 0)),
  );
  return clock;
}

/** Series `name` of run `index` as a chart line, with its bucket band when downsampled. */
export function runLine(
  run: ComparedRun,
  index: number,
  name: string,
  label: string,
  clock: StepClock,
): PlotLine {
  const window = run.series.get(name);
  const byEpoch = window?.kind === SeriesKind.EPOCH;
  return {
    sessionId: run.sessionId,
    label,
    colour: RUN_COLOURS[index % RUN_COLOURS.length],
    xs: Float64Array.from(window?.lastSteps ?? [], Number),
    ys: Float64Array.from(window?.lasts ?? []),
    mins: window && !window.exact && window.mins.length > 0 ? window.mins : undefined,
    maxs: window && !window.exact && window.maxs.length > 0 ? window.maxs : undefined,
    timeline: {
      byEpoch,
      batchesPerEpoch: run.summary?.config?.batchesPerEpoch ?? 0,
      clock,
    },
  };
}
