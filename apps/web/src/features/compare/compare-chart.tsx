import { useCallback, useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import { useUplot } from '../charts/use-uplot';
import { download, fileNameOf } from '../export/series-export';
import { RUN_COLOURS } from './compare-data';

/**
 * One series of every compared run, overlaid: a colour per run, hidden runs
 * left out. Drag to zoom; double-click resets.
 */
export function CompareChart({
  name,
  xLabel,
  labels,
  data,
  hidden,
  onCsv,
}: {
  name: string;
  xLabel: string;
  labels: readonly string[];
  data: uPlot.AlignedData;
  hidden: ReadonlySet<number>;
  /** Exports the series of every run at full resolution. */
  onCsv?: () => void;
}) {
  const container = useRef<HTMLDivElement>(null);
  const makeOptions = useCallback(
    (width: number): uPlot.Options => ({
      width,
      height: 220,
      scales: { x: { time: false } },
      legend: { show: false },
      axes: [
        { label: xLabel, stroke: '#9aa4b2', grid: { stroke: 'rgba(128, 140, 160, 0.2)' } },
        { stroke: '#9aa4b2', grid: { stroke: 'rgba(128, 140, 160, 0.2)' }, size: 60 },
      ],
      series: [
        { label: xLabel },
        ...labels.map((label, index) => ({
          label,
          stroke: RUN_COLOURS[index % RUN_COLOURS.length],
          width: 1.5,
          spanGaps: true,
        })),
      ],
    }),
    [labels, xLabel],
  );
  const initial = useCallback(() => data, [data]);
  const plot = useUplot(container, makeOptions, initial, 220);

  useEffect(() => {
    plot.current?.setData(data);
  }, [plot, data]);
  useEffect(() => {
    const chart = plot.current;
    if (!chart) return;
    labels.forEach((_label, index) => chart.setSeries(index + 1, { show: !hidden.has(index) }));
  }, [plot, labels, hidden, makeOptions]);

  return (
    <section
      className="panel"
      data-testid="compare-chart"
      data-series={name}
      data-runs={labels.length - hidden.size}
      data-points={data[0].length}
    >
      <header className="panel-header">
        <h3 className="small">{name}</h3>
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
              plot.current?.ctx.canvas.toBlob(
                (blob) => blob && download(blob, fileNameOf(name, 'png')),
              )
            }
          >
            PNG
          </button>
        </span>
      </header>
      <div ref={container} className="chart" />
    </section>
  );
}
