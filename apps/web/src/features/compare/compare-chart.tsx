import { useCallback, useMemo, useRef } from 'react';
import { SeriesPlot, SMOOTHED_LINE_WIDTH_PX } from '../charts/series-plot';
import { download, fileNameOf } from '../export/series-export';
import type { StepClock } from '../series/store/step-clock';
import { runLine, type ComparedRun } from './compare-data';

/** Height of a compare chart. */
export const COMPARE_CHART_HEIGHT_PX = 220;
/**
 * Width of each run's smoothed line on a compare chart of many runs, CSS
 * pixels: a hairline. In Chromium's software rendering (a machine without
 * GPU raster) a chart of 20 runs took 20-50 ms to rasterise with 1.75 px
 * lines, nearly all of it outlining and filling the 20 wide strokes (round
 * joins at each of 640 points a run), once per redraw; zooming and
 * resetting dropped to 50 fps with a long task at most redraws. Hairlines
 * cost a tenth of that and the same gestures hold 55-58 fps. The smoothed
 * line still stands out from the raw one (opaque against 30%).
 */
export const COMPARE_LINE_WIDTH_PX = 1;
/**
 * Runs a compare chart draws with the session page's wider smoothed lines
 * (SMOOTHED_LINE_WIDTH_PX); more runs get hairlines. The raster cost grows
 * with the runs drawn: four wide lines cost what a fifth of twenty do.
 */
export const COMPARE_WIDE_LINE_MAX_RUNS = 4;

/** Width of the smoothed lines of a compare chart of `runs` runs. */
export function compareLineWidthPx(runs: number): number {
  return runs > COMPARE_WIDE_LINE_MAX_RUNS ? COMPARE_LINE_WIDTH_PX : SMOOTHED_LINE_WIDTH_PX;
}

/**
 * One series of every compared run, overlaid on the shared chart layer: a
 * colour per run, hidden runs left out, the page's x axis, smoothing, zoom
 * (read at full resolution per run) and step cursor; hover shows every
 * run's value at that x.
 */
export function CompareChart({
  name,
  byEpoch,
  runs,
  labels,
  clocks,
  points,
  hidden,
  onCsv,
}: {
  name: string;
  byEpoch: boolean;
  runs: readonly ComparedRun[];
  labels: readonly string[];
  clocks: readonly StepClock[];
  /** Distinct x of the runs' points (for tests and the footer). */
  points: number;
  hidden: ReadonlySet<number>;
  /** Exports the series of every run at full resolution. */
  onCsv?: () => void;
}) {
  const section = useRef<HTMLElement>(null);
  // Built once per data change: the plot reads them on every draw and render.
  const built = useMemo(
    () =>
      runs.map((run, index) =>
        runLine(run, index, name, labels[index] ?? run.sessionId, clocks[index]),
      ),
    [runs, name, labels, clocks],
  );
  const lines = useCallback(() => built, [built]);
  const lineWidth = compareLineWidthPx(runs.length);
  return (
    <section
      ref={section}
      className="panel compare-chart"
      data-testid="compare-chart"
      data-series={name}
      data-runs={runs.length - hidden.size}
      data-points={points}
      data-line-width={lineWidth}
    >
      <SeriesPlot
        name={name}
        byEpoch={byEpoch}
        lines={lines}
        version={0}
        hidden={hidden}
        height={COMPARE_CHART_HEIGHT_PX}
        testId="compare-plot"
        smoothedWidthPx={lineWidth}
        title={name}
        actions={
          <span>
            {onCsv && (
              <button type="button" className="small" data-testid="compare-csv" onClick={onCsv}>
                CSV
              </button>
            )}{' '}
            <button
              type="button"
              className="small"
              data-testid="compare-png"
              onClick={() =>
                section.current
                  ?.querySelector('canvas')
                  ?.toBlob((blob) => blob && download(blob, fileNameOf(name, 'png')))
              }
            >
              PNG
            </button>
          </span>
        }
      />
    </section>
  );
}
