import { useCallback, useEffect, useRef, useState } from 'react';
import type uPlot from 'uplot';
import type { BoundedSeries } from '../series/store/bounded-series';
import { drawMissingHistory } from './missing-history';
import { smoothInto } from './smoothing';
import { CHART_HEIGHT_PX, useUplot } from './use-uplot';
import { WHOLE_NUMBER_INCREMENTS } from './whole-number-ticks';

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
}

const EMPTY = new Float64Array(0);

/**
 * Loss per batch on a uPlot canvas: the raw curve, a smoothed one on top,
 * log scale, drag to zoom (the live tail keeps arriving without resetting the
 * zoom) and a reset.
 */
export function LossChart({ loss, revision, historyStartStep }: LossChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const [smoothing, setSmoothing] = useState(0.6);
  const [logScale, setLogScale] = useState(false);
  const [zoomed, setZoomed] = useState(false);
  const zoomedRef = useRef(false);
  const smoothBuffer = useRef(new Float64Array(0));

  const buildData = useCallback((): uPlot.AlignedData => {
    if (!loss) return [EMPTY, EMPTY, EMPTY];
    if (smoothBuffer.current.length < loss.length) {
      smoothBuffer.current = new Float64Array(loss.maxLength);
    }
    const losses = loss.ys;
    return [loss.xs, losses, smoothInto(losses, smoothing, smoothBuffer.current)];
  }, [loss, smoothing]);

  const makeOptions = useCallback(
    (width: number): uPlot.Options => ({
      width,
      height: CHART_HEIGHT_PX,
      scales: { x: { time: false }, y: { distr: logScale ? 3 : 1 } },
      axes: [
        {
          label: 'step',
          stroke: '#9aa4b2',
          grid: { stroke: 'rgba(128, 140, 160, 0.2)' },
          incrs: WHOLE_NUMBER_INCREMENTS,
        },
        {
          label: 'loss',
          stroke: '#9aa4b2',
          grid: { stroke: 'rgba(128, 140, 160, 0.2)' },
          size: 60,
        },
      ],
      series: [
        { label: 'step' },
        { label: 'loss', stroke: 'rgba(110, 168, 254, 0.35)', width: 1, points: { show: false } },
        { label: 'smoothed', stroke: '#6ea8fe', width: 2, points: { show: false } },
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        draw: [
          (u) => {
            if (historyStartStep !== undefined) drawMissingHistory(u, historyStartStep);
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width > 0) {
              zoomedRef.current = true;
              setZoomed(true);
            }
          },
        ],
      },
    }),
    [logScale, historyStartStep],
  );

  const plot = useUplot(container, makeOptions, buildData);
  const points = loss?.length ?? 0;

  // One setData per published view: the store publishes at most once per frame.
  useEffect(() => {
    plot.current?.setData(buildData(), !zoomedRef.current);
  }, [plot, buildData, revision]);

  const resetZoom = (): void => {
    zoomedRef.current = false;
    setZoomed(false);
    plot.current?.setData(buildData(), true);
  };

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
        <div className="controls">
          <label>
            Smoothing
            <input
              type="range"
              min={0}
              max={0.99}
              step={0.01}
              value={smoothing}
              aria-label="Smoothing"
              onChange={(event) => setSmoothing(Number(event.target.value))}
            />
            <span className="numeric">{smoothing.toFixed(2)}</span>
          </label>
          <label>
            <input
              type="checkbox"
              checked={logScale}
              onChange={(event) => {
                // The chart is rebuilt for the new scale, unzoomed.
                zoomedRef.current = false;
                setZoomed(false);
                setLogScale(event.target.checked);
              }}
            />
            Log scale
          </label>
          <button type="button" onClick={resetZoom} disabled={!zoomed}>
            Reset zoom
          </button>
        </div>
      </header>
      <div ref={container} className="chart" />
      <p className="muted small">
        {points} points
        {historyStartStep !== undefined && (
          <span data-testid="missing-history-marker">
            {' '}
            · shaded: before step {historyStartStep}, not on this server
          </span>
        )}
        {zoomed ? ' · zoomed (drag to zoom further)' : ' · drag across the chart to zoom'}
      </p>
    </section>
  );
}
