import { ConnectError } from '@connectrpc/connect';
import { SeriesKind, type SeriesWindow } from '@trainwatch/proto';
import { useEffect, useMemo, useState } from 'react';
import { useDashboardClient } from '../../common/transport-context';
import { ChartToolbar } from '../charts/chart-toolbar';
import { ChartPageProvider, useChartPage, useChartViewSelect } from '../charts/chart-view-context';
import { useWindowFetcher } from '../charts/use-window-fetcher';
import { sessionHref } from '../../common/use-hash-route';
import { formatValue } from '../session/components/run-metadata';
import { download, fileNameOf, fullSeries, toCsv } from '../export/series-export';
import { boundedMap } from './bounded-map';
import { CompareChart } from './compare-chart';
import {
  alignSeries,
  COMPARE_READS_IN_FLIGHT,
  compareOpenPoints,
  compareWindowPoints,
  distinctSteps,
  hyperparameterRows,
  MAX_COMPARED_RUNS,
  RUN_COLOURS,
  runClock,
  sharedSeries,
  type ComparedRun,
} from './compare-data';

/**
 * Two to twenty runs side by side (`#/compare?runs=a,b`): every series at
 * least two of them have, overlaid with a colour per run (QuerySeries, the
 * store's full history bucketed to COMPARE_POINTS); a legend whose toggles
 * hide a run everywhere; the hyperparameters with the keys that differ
 * first and marked; per-epoch series as a table, epoch by run.
 */
export function ComparePage({ sessionIds }: { sessionIds: readonly string[] }) {
  // The page's width when it opened: resizing does not re-ask what was read.
  const [widthPx] = useState(() => window.innerWidth);
  const fetcher = useWindowFetcher(compareWindowPoints(sessionIds.length, widthPx));
  return (
    // One chart view for the page (x axis, smoothing, zoom, step cursor, hidden runs), in the URL.
    <ChartPageProvider fetcher={fetcher}>
      <CompareRuns sessionIds={sessionIds} />
    </ChartPageProvider>
  );
}

function CompareRuns({ sessionIds }: { sessionIds: readonly string[] }) {
  const client = useDashboardClient();
  const ids = useMemo(() => sessionIds.slice(0, MAX_COMPARED_RUNS), [sessionIds]);
  const [runs, setRuns] = useState<ComparedRun[]>();
  const [error, setError] = useState<string>();
  const { view } = useChartPage();
  const hiddenRuns = useChartViewSelect(view, (state) => state.hiddenRuns);
  const hidden = useMemo(
    () =>
      new Set(
        ids.flatMap((id, index) => (hiddenRuns.includes(id) ? [index] : [])),
      ) as ReadonlySet<number>,
    [ids, hiddenRuns],
  );
  const clocks = useMemo(() => (runs ?? []).map(runClock), [runs]);

  useEffect(() => {
    let cancelled = false;
    const maxPoints = compareOpenPoints(window.innerWidth);
    // Every run's summary in one call beside the series reads: a call per run
    // put 20 more requests behind the same six connections (compare benchmark,
    // five pairs: opening median 1,757 → 1,550 ms with the one call).
    Promise.all([
      client.listSessions({ sessionIds: ids, pageSize: ids.length }),
      boundedMap(ids, COMPARE_READS_IN_FLIGHT, (sessionId) =>
        client.querySeries({ sessionId, maxPoints }),
      ),
    ])
      .then(([listed, answers]): ComparedRun[] => {
        const summaries = new Map(listed.sessions.map((summary) => [summary.sessionId, summary]));
        return ids.map((sessionId, index) => ({
          sessionId,
          summary: summaries.get(sessionId),
          series: new Map(
            (answers[index]?.series ?? []).map((window: SeriesWindow) => [window.name, window]),
          ),
        }));
      })
      .then((loaded) => !cancelled && setRuns(loaded))
      .catch((failure: unknown) => !cancelled && setError(ConnectError.from(failure).rawMessage));
    return () => {
      cancelled = true;
    };
  }, [client, ids]);

  const labels = useMemo(
    () => (runs ?? []).map((run) => run.summary?.name || run.sessionId),
    [runs],
  );
  const shared = useMemo(() => (runs === undefined ? [] : sharedSeries(runs)), [runs]);
  // Only the per-epoch tables need the runs aligned here; the charts align their own lines.
  const aligned = useMemo(
    () =>
      new Map(
        shared
          .filter((series) => series.kind === SeriesKind.EPOCH)
          .map((series) => [series.name, alignSeries(runs ?? [], series.name)]),
      ),
    [shared, runs],
  );
  const points = useMemo(
    () => new Map(shared.map((series) => [series.name, distinctSteps(runs ?? [], series.name)])),
    [shared, runs],
  );
  const hyperparameters = useMemo(
    () =>
      hyperparameterRows(runs ?? [], (run, key) => {
        const value = run.summary?.metadata?.hyperparameters[key];
        return value === undefined ? undefined : formatValue(value);
      }),
    [runs],
  );

  return (
    <main className="page" data-testid="compare-page">
      <h1>Compare {ids.length} runs</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {runs === undefined && !error && <p className="muted">Loading runs…</p>}
      {runs !== undefined && (
        <>
          <ul className="compare-legend" data-testid="compare-legend">
            {runs.map((run, index) => (
              <li key={run.sessionId}>
                <label>
                  <input
                    type="checkbox"
                    data-testid="compare-legend-item"
                    data-session-id={run.sessionId}
                    checked={!hidden.has(index)}
                    onChange={() =>
                      view.update({
                        hiddenRuns: hidden.has(index)
                          ? hiddenRuns.filter((id) => id !== run.sessionId)
                          : [...hiddenRuns, run.sessionId],
                      })
                    }
                  />
                  <span
                    className="swatch"
                    style={{ background: RUN_COLOURS[index % RUN_COLOURS.length] }}
                  />{' '}
                  <a href={sessionHref(run.sessionId)}>{labels[index]}</a>
                </label>
              </li>
            ))}
          </ul>
          <h2>Hyperparameters</h2>
          {hyperparameters.length === 0 ? (
            <p className="muted small">No run has hyperparameters.</p>
          ) : (
            <table className="compare-table" data-testid="compare-hyperparameters">
              <thead>
                <tr>
                  <th>key</th>
                  {labels.map((label, index) => (
                    <th key={index}>{label}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {hyperparameters.map((row) => (
                  <tr
                    key={row.key}
                    className={row.differs ? 'differs' : undefined}
                    data-testid="compare-hyperparameter"
                    data-key={row.key}
                    data-differs={String(row.differs)}
                  >
                    <th scope="row">{row.key}</th>
                    {row.values.map((value, index) => (
                      <td key={index}>{value}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Series</h2>
          <ChartToolbar />
          {shared.length === 0 && <p className="muted small">The runs share no series.</p>}
          {shared.map((series) => (
            <CompareChart
              key={series.name}
              name={series.name}
              byEpoch={series.kind === SeriesKind.EPOCH}
              runs={runs}
              labels={labels}
              clocks={clocks}
              points={points.get(series.name) ?? 0}
              hidden={hidden}
              onCsv={() => {
                void Promise.all(
                  runs
                    .filter((run) => run.series.has(series.name))
                    .map(async (run) => ({
                      run: run.summary?.name || run.sessionId,
                      points: await fullSeries(client, run.sessionId, series.name),
                    })),
                )
                  .then((rows) =>
                    download(
                      new Blob([toCsv(rows)], { type: 'text/csv' }),
                      fileNameOf(series.name, 'csv'),
                    ),
                  )
                  .catch((failure: unknown) => setError(ConnectError.from(failure).rawMessage));
              }}
            />
          ))}
          {shared
            .filter((series) => series.kind === SeriesKind.EPOCH)
            .map((series) => {
              const [epochs, ...columns] = aligned.get(series.name) ?? [[]];
              return (
                <table
                  key={series.name}
                  className="compare-table"
                  data-testid="compare-epoch-table"
                  data-series={series.name}
                >
                  <caption>{series.name} per epoch</caption>
                  <thead>
                    <tr>
                      <th>epoch</th>
                      {labels.map((label, index) => (
                        <th key={index}>{label}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {epochs.map((epoch, row) => (
                      <tr key={epoch}>
                        {/* 0-based on the wire; counted from 1 like the session page. */}
                        <th scope="row">{epoch + 1}</th>
                        {columns.map((column, index) => (
                          <td key={index} className="numeric">
                            {column[row] == null ? '—' : (column[row] as number).toPrecision(4)}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              );
            })}
        </>
      )}
    </main>
  );
}
