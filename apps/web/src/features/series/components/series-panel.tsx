import { SeriesKind } from '@trainwatch/proto';
import { memo, useRef } from 'react';
import { formatMetric } from '../../../common/format';
import { useRefreshedText } from '../../../common/use-refreshed-text';
import { useSessionSelect } from '../../session/hooks/use-session-view';
import type { PanelProps } from '../../panels/panel-props';
import type { SessionView } from '../../session/store/session-store';
import { useSeriesVersion } from '../hooks/use-series-version';
import { useVisible } from '../hooks/use-visible';
import { SeriesChart } from './series-chart';
import './series-panel.css';

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

const batchesPerEpochOf = (view: SessionView): number => view.summary?.config?.batchesPerEpoch ?? 0;

function historyStartStep(view: SessionView): number | undefined {
  return view.summary?.partialHistory ? Number(view.summary.historyStartStep) : undefined;
}

/**
 * One series: its name, latest value and chart. Holds a uPlot instance only
 * while on screen (or near it), and re-renders only when its own series
 * changed, at most once per frame.
 */
export const SeriesPanel = memo(function SeriesPanel({
  sessionId,
  store,
  series: name = '',
}: PanelProps) {
  const ref = useRef<HTMLElement>(null);
  const visible = useVisible(ref);
  const version = useSeriesVersion(store.series, name, visible);
  const startStep = useSessionSelect(store, historyStartStep, visible);
  const batchesPerEpoch = useSessionSelect(store, batchesPerEpochOf, visible);
  const entry = store.series.get(name);
  const points = entry?.points;
  const byEpoch = entry?.kind === SeriesKind.EPOCH;
  const nonFinite = points?.nonFinite ?? 0;
  const latest = points?.lastY;
  const latestText = useRefreshedText(
    latest === undefined ? '—' : Number.isNaN(latest) ? 'not finite' : formatMetric(latest),
  );
  const countText = useRefreshedText(
    `${plural(points?.length ?? 0, 'point')} ${byEpoch ? 'per epoch' : 'per step'}`,
  );

  return (
    <section
      ref={ref}
      className="series-panel"
      data-testid="series-panel"
      data-series={name}
      data-kind={byEpoch ? 'epoch' : 'step'}
      data-visible={visible ? 'true' : 'false'}
      data-points={points?.length ?? 0}
      data-non-finite={nonFinite}
    >
      <header className="series-panel-header">
        <h3 title={name}>{name}</h3>
        <span className="series-panel-latest" data-testid="series-latest">
          {latestText}
        </span>
      </header>
      {visible && entry ? (
        <SeriesChart
          sessionId={sessionId}
          clock={store.series.clock}
          batchesPerEpoch={batchesPerEpoch}
          entry={entry}
          version={version}
          historyStartStep={byEpoch ? undefined : startStep}
        />
      ) : (
        <div className="series-chart-placeholder" data-testid="series-placeholder" />
      )}
      <p className="series-panel-footer">
        <span>{countText}</span>
        {nonFinite > 0 && (
          <span className="series-panel-non-finite" data-testid="non-finite-count">
            {plural(nonFinite, 'non-finite value')}
          </span>
        )}
        {!byEpoch && startStep !== undefined && (
          <span data-testid="series-missing-history">shaded: before step {startStep}</span>
        )}
      </p>
    </section>
  );
});
