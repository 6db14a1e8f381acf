import { LOSS_SERIES } from '@trainwatch/proto';
import { useCallback } from 'react';
import type uPlot from 'uplot';
import { useRefreshedText } from '../../common/use-refreshed-text';
import type { BoundedSeries } from '../series/store/bounded-series';
import type { StepClock } from '../series/store/step-clock';
import { useChartPage, useChartViewSelect } from './chart-view-context';
import { drawMissingHistory } from './missing-history';
import { drawNonFiniteMarks } from './non-finite-gaps';
import type { PlotLine } from './plot-data';
import { SeriesPlot } from './series-plot';
import { CHART_HEIGHT_PX } from './use-uplot';
import { toAxisX } from './x-axis';

export interface LossChartProps {
  /** The `loss` series; absent before the first batch. */
  loss: BoundedSeries | undefined;
  /** Changes whenever `loss` does; the chart redraws on it, once per frame at most. */
  revision: number;
  /**
   * First step the server holds when it does not have the run from its
   * start; the chart shades everything before it as missing.
   */
  historyStartStep?: number;
  /** The run (a zoom reads its window); empty: the zoom keeps the points held. */
  sessionId?: string;
  /** When each step happened (time axes); without it they fall back to steps. */
  clock?: StepClock;
  batchesPerEpoch?: number;
}

/**
 * Loss per batch, the large chart at the top of the session page, on the
 * shared chart layer: raw and smoothed, the page's x axis, smoothing, log
 * scale and outliers, a zoom every chart follows (read at full resolution;
 * the live tail keeps arriving without resetting it), hover values and the
 * step cursor.
 */
export function LossChart({
  loss,
  revision,
  historyStartStep,
  sessionId = '',
  clock,
  batchesPerEpoch = 0,
}: LossChartProps) {
  const { view } = useChartPage();
  const xAxis = useChartViewSelect(view, (state) => state.xAxis);
  const zoomed = useChartViewSelect(view, (state) => state.zoom !== undefined);
  const lines = useCallback(
    (): PlotLine[] =>
      loss
        ? [
            {
              sessionId,
              label: LOSS_SERIES,
              colour: '#6ea8fe',
              xs: loss.xs,
              ys: loss.ys,
              // The band of the points downsampled so far (none while every point is exact).
              mins: loss.mins,
              maxs: loss.maxs,
              timeline: { byEpoch: false, batchesPerEpoch, clock },
            },
          ]
        : [],
    [loss, sessionId, batchesPerEpoch, clock],
  );
  const decorate = useCallback(
    (u: uPlot) => {
      if (historyStartStep !== undefined) {
        drawMissingHistory(
          u,
          toAxisX(xAxis, { byEpoch: false, batchesPerEpoch, clock }, historyStartStep),
        );
      }
      if (loss && loss.nonFinite > 0) drawNonFiniteMarks(u, 1);
    },
    [historyStartStep, xAxis, batchesPerEpoch, clock, loss],
  );
  const points = loss?.length ?? 0;
  const pointsText = useRefreshedText(`${points} points`);

  return (
    <section
      className="panel"
      data-testid="loss-chart"
      data-points={points}
      data-first-step={loss && points > 0 ? loss.xs[0] : undefined}
      data-last-step={loss && points > 0 ? loss.lastX : undefined}
      data-history-start-step={historyStartStep}
    >
      <header className="panel-header">
        <h2>Loss per batch</h2>
      </header>
      <SeriesPlot
        name={LOSS_SERIES}
        byEpoch={false}
        lines={lines}
        version={revision}
        height={CHART_HEIGHT_PX}
        testId="loss-plot"
        decorate={decorate}
      />
      <p className="muted small">
        {pointsText}
        {historyStartStep !== undefined && (
          <span data-testid="missing-history-marker">
            {' '}
            · shaded: before step {historyStartStep}, not on this server
          </span>
        )}
        {zoomed
          ? ' · zoomed (double-click to zoom out)'
          : ' · drag across the chart to zoom, click to set the step cursor'}
      </p>
    </section>
  );
}
