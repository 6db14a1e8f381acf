import type { EpochData } from '@trainwatch/proto';
import { useCallback, useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import { CHART_HEIGHT_PX, useUplot } from './use-uplot';
import { WHOLE_NUMBER_INCREMENTS } from './whole-number-ticks';
import { Y_AXIS_LABELS } from './y-axis';

function toData(epochs: readonly EpochData[]): uPlot.AlignedData {
  return [
    Float64Array.from(epochs, (e) => e.epoch + 1),
    Float64Array.from(epochs, (e) => e.averageLoss),
    Float64Array.from(epochs, (e) => e.averageAccuracy),
  ];
}

function makeOptions(width: number): uPlot.Options {
  return {
    width,
    height: CHART_HEIGHT_PX,
    scales: { x: { time: false }, acc: { range: [0, 1] } },
    axes: [
      {
        label: 'epoch',
        stroke: '#9aa4b2',
        grid: { stroke: 'rgba(128, 140, 160, 0.2)' },
        incrs: WHOLE_NUMBER_INCREMENTS,
      },
      {
        label: 'avg loss',
        stroke: '#f0a35e',
        grid: { stroke: 'rgba(128, 140, 160, 0.2)' },
        ...Y_AXIS_LABELS,
      },
      { label: 'accuracy', scale: 'acc', side: 1, stroke: '#63d297', grid: { show: false } },
    ],
    series: [
      { label: 'epoch' },
      { label: 'avg loss', stroke: '#f0a35e', width: 2 },
      { label: 'accuracy', scale: 'acc', stroke: '#63d297', width: 2 },
    ],
  };
}

/** Average loss and accuracy per finished epoch. */
export function EpochChart({ epochs }: { epochs: readonly EpochData[] }) {
  const container = useRef<HTMLDivElement>(null);
  const initial = useCallback(() => toData(epochs), [epochs]);
  const plot = useUplot(container, makeOptions, initial);

  useEffect(() => {
    plot.current?.setData(toData(epochs));
  }, [plot, epochs]);

  const last = epochs.at(-1);
  return (
    <section className="panel" data-testid="epoch-chart" data-epochs={epochs.length}>
      <header className="panel-header">
        <h2>Per epoch</h2>
        {last && (
          <span className="muted">
            epoch {last.epoch + 1}: loss {last.averageLoss.toPrecision(4)}, accuracy{' '}
            {(last.averageAccuracy * 100).toFixed(1)}%
          </span>
        )}
      </header>
      <div ref={container} className="chart" />
      {epochs.length === 0 && <p className="muted small">No epoch finished yet.</p>}
    </section>
  );
}
