import { useCallback, useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import { SeriesKind } from '@trainwatch/proto';
import { drawMissingHistory } from '../../charts/missing-history';
import { drawNonFiniteMarks, nanGaps } from '../../charts/non-finite-gaps';
import { useUplot } from '../../charts/use-uplot';
import { WHOLE_NUMBER_INCREMENTS } from '../../charts/whole-number-ticks';
import type { SeriesEntry } from '../store/series-store';

/** Height of a series chart: small, so many fit on a screen. */
export const SERIES_CHART_HEIGHT_PX = 180;

const AXIS = { stroke: '#9aa4b2', grid: { stroke: 'rgba(128, 140, 160, 0.2)' } };

/** Epochs are counted from 1 on screen, as in the epoch summary. */
function epochLabels(_u: uPlot, splits: number[]): string[] {
  return splits.map((v) => String(v + 1));
}

export interface SeriesChartProps {
  entry: SeriesEntry;
  /** Changes when the series does; the chart takes new data on it, once per frame at most. */
  version: number;
  /** Steps before it are shaded as missing (step series of a partial history). */
  historyStartStep?: number;
}

/**
 * One series on a uPlot canvas, fed the buffer's typed arrays without a copy.
 * Values that were not finite are gaps with a red tick; drag zooms (new
 * points keep arriving without resetting it), double-click resets.
 */
export function SeriesChart({ entry, version, historyStartStep }: SeriesChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const zoomed = useRef(false);
  const byEpoch = entry.kind === SeriesKind.EPOCH;

  const data = useCallback((): uPlot.AlignedData => [entry.points.xs, entry.points.ys], [entry]);

  const makeOptions = useCallback(
    (width: number): uPlot.Options => ({
      width,
      height: SERIES_CHART_HEIGHT_PX,
      legend: { show: false },
      scales: { x: { time: false } },
      axes: [
        {
          ...AXIS,
          incrs: WHOLE_NUMBER_INCREMENTS,
          values: byEpoch ? epochLabels : undefined,
        },
        { ...AXIS, size: 56 },
      ],
      series: [
        { label: byEpoch ? 'epoch' : 'step' },
        {
          label: entry.name,
          stroke: byEpoch ? '#f0a35e' : '#6ea8fe',
          width: 1.5,
          points: { show: byEpoch },
          gaps: nanGaps,
        },
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        draw: [
          (u) => {
            if (!byEpoch && historyStartStep !== undefined) drawMissingHistory(u, historyStartStep);
            if (entry.points.nonFinite > 0) drawNonFiniteMarks(u, 1);
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width > 0) zoomed.current = true;
          },
        ],
        ready: [
          (u) => {
            u.over.addEventListener('dblclick', () => {
              zoomed.current = false;
            });
          },
        ],
      },
    }),
    [entry, byEpoch, historyStartStep],
  );

  const plot = useUplot(container, makeOptions, data, SERIES_CHART_HEIGHT_PX);

  useEffect(() => {
    plot.current?.setData(data(), !zoomed.current);
  }, [plot, data, version]);

  return <div ref={container} className="series-chart" data-testid="series-chart" />;
}
