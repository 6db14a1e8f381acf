import { useCallback, useMemo, useRef } from 'react';
import { SeriesPlot } from '../charts/series-plot';
import { download, fileNameOf } from '../export/series-export';
import type { StepClock } from '../series/store/step-clock';
import { runLine, type ComparedRun } from './compare-data';

/** Height of a compare chart. */
export const COMPARE_CHART_HEIGHT_PX = 220;

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
  return (
    <section
      ref={section}
      className="panel compare-chart"
      data-testid="compare-chart"
      data-series={name}
      data-runs={runs.length - hidden.size}
      data-points={points}
    >
      <SeriesPlot
        name={name}
        byEpoch={byEpoch}
        lines={lines}
        version={0}
        hidden={hidden}
        height={COMPARE_CHART_HEIGHT_PX}
        testId="compare-plot"
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
