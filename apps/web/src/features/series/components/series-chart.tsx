import { SeriesKind } from '@trainwatch/proto';
import { useCallback } from 'react';
import type uPlot from 'uplot';
import { drawMissingHistory } from '../../charts/missing-history';
import { drawNonFiniteMarks } from '../../charts/non-finite-gaps';
import type { PlotLine } from '../../charts/plot-data';
import { SeriesPlot } from '../../charts/series-plot';
import { toAxisX } from '../../charts/x-axis';
import { useChartPage, useChartViewSelect } from '../../charts/chart-view-context';
import type { StepClock } from '../store/step-clock';
import type { SeriesEntry } from '../store/series-store';

/** Height of a series chart: small, so many fit on a screen. */
export const SERIES_CHART_HEIGHT_PX = 180;

export interface SeriesChartProps {
  sessionId: string;
  entry: SeriesEntry;
  /** Changes when the series does; the chart takes new data on it, once per frame at most. */
  version: number;
  /** Steps before it are shaded as missing (step series of a partial history). */
  historyStartStep?: number;
  /** When each step happened (for the time axes). */
  clock: StepClock;
  batchesPerEpoch: number;
}

/**
 * One series of the session on the shared chart layer (SeriesPlot): the
 * buffer's typed arrays go in without a copy; values that were not finite
 * are gaps with a red tick; the page's x axis, smoothing, zoom and step
 * cursor apply.
 */
export function SeriesChart({
  sessionId,
  entry,
  version,
  historyStartStep,
  clock,
  batchesPerEpoch,
}: SeriesChartProps) {
  const byEpoch = entry.kind === SeriesKind.EPOCH;
  const { view } = useChartPage();
  const xAxis = useChartViewSelect(view, (state) => state.xAxis);
  const lines = useCallback(
    (): PlotLine[] => [
      {
        sessionId,
        label: entry.name,
        colour: byEpoch ? '#f0a35e' : '#6ea8fe',
        xs: entry.points.xs,
        ys: entry.points.ys,
        // The min/max band of the points downsampled so far (none while every point is exact).
        mins: entry.points.mins,
        maxs: entry.points.maxs,
        timeline: { byEpoch, batchesPerEpoch, clock },
      },
    ],
    [sessionId, entry, byEpoch, batchesPerEpoch, clock],
  );
  const decorate = useCallback(
    (u: uPlot) => {
      if (!byEpoch && historyStartStep !== undefined) {
        const x = toAxisX(xAxis, { byEpoch: false, batchesPerEpoch, clock }, historyStartStep);
        drawMissingHistory(u, x);
      }
      if (entry.points.nonFinite > 0) drawNonFiniteMarks(u, 1);
    },
    [byEpoch, historyStartStep, entry, xAxis, batchesPerEpoch, clock],
  );
  return (
    <SeriesPlot
      name={entry.name}
      byEpoch={byEpoch}
      lines={lines}
      version={version}
      height={SERIES_CHART_HEIGHT_PX}
      testId="series-chart"
      decorate={decorate}
    />
  );
}
