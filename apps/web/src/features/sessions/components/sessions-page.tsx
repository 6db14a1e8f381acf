import type { SessionSummary } from '@trainwatch/proto';
import { ConnectionState, globalStep } from '@trainwatch/proto';
import { connectionLabel, formatAgo, formatLoss } from '../../../common/format';
import { compareHref, sessionHref } from '../../../common/use-hash-route';
import { useNow } from '../../../common/use-now';
import { StatusBadge } from '../../../common/status-badge';
import { useState } from 'react';
import { ALL_SESSIONS, useSessionsList, type SessionsQuery } from '../hooks/use-sessions-list';
import { EmptyState } from './empty-state';
import { RunActions } from './run-actions';
import { RunsToolbar } from './runs-toolbar';
import { MAX_COMPARED_RUNS, MIN_COMPARED_RUNS } from '../../compare/compare-data';

function progressText(session: SessionSummary): string {
  const config = session.config;
  if (!config || session.batchesReceived === 0n) return 'not started';
  return `epoch ${session.epoch + 1}/${config.totalEpochs} · batch ${session.batchIdx + 1}/${config.batchesPerEpoch}`;
}

function progressFraction(session: SessionSummary): number {
  const config = session.config;
  if (!config || config.totalEpochs <= 0 || config.batchesPerEpoch <= 0) return 0;
  const total = config.totalEpochs * config.batchesPerEpoch;
  const done = Number(globalStep(session.epoch, session.batchIdx, config.batchesPerEpoch)) + 1;
  return Math.min(1, done / total);
}

/** The live list of sessions, newest first, a page at a time. */
export function SessionsPage({
  pollIntervalMs,
  pageSize,
}: {
  pollIntervalMs?: number;
  pageSize?: number;
}) {
  const [query, setQuery] = useState<SessionsQuery>(ALL_SESSIONS);
  const { sessions, totalSize, error, canShowMore, showMore, refresh } = useSessionsList(
    pollIntervalMs,
    pageSize,
    query,
  );
  const filtered = query !== ALL_SESSIONS;
  // Runs picked for the compare view, in the order picked.
  const [selected, setSelected] = useState<string[]>([]);
  const toggle = (id: string) =>
    setSelected((current) =>
      current.includes(id)
        ? current.filter((one) => one !== id)
        : current.length < MAX_COMPARED_RUNS
          ? [...current, id]
          : current,
    );
  const now = useNow(1_000);

  return (
    <main className="page">
      <h1>Training sessions</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {sessions === undefined && !error && <p className="muted">Loading sessions…</p>}
      <RunsToolbar query={query} onChange={setQuery} />
      <p className="small">
        {selected.length >= MIN_COMPARED_RUNS ? (
          <a href={compareHref(selected)} data-testid="runs-compare">
            Compare {selected.length} runs
          </a>
        ) : (
          <span className="muted" data-testid="runs-compare-hint">
            Tick {MIN_COMPARED_RUNS} to {MAX_COMPARED_RUNS} runs to compare them.
          </span>
        )}
      </p>
      {sessions?.length === 0 && !filtered && <EmptyState />}
      {sessions?.length === 0 && filtered && (
        <p className="muted" data-testid="runs-none-match">
          No run matches.
        </p>
      )}
      {sessions && sessions.length > 0 && (
        <table className="sessions" data-testid="sessions-table">
          <thead>
            <tr>
              <th aria-label="Compare" />
              <th>Status</th>
              <th>Session</th>
              <th>Model</th>
              <th>Dataset</th>
              <th>Progress</th>
              <th>Last update</th>
              <th>Latest loss</th>
              <th>Run</th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((session) => (
              <tr
                key={session.sessionId}
                data-testid="session-row"
                data-session-id={session.sessionId}
              >
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Compare ${session.sessionId}`}
                    data-testid="run-select"
                    checked={selected.includes(session.sessionId)}
                    onChange={() => toggle(session.sessionId)}
                  />
                </td>
                <td>
                  <StatusBadge status={session.status} />
                  {session.connection !== ConnectionState.CONNECTED && (
                    <div className="muted small" data-testid="connection-label">
                      {connectionLabel(session.connection)}
                    </div>
                  )}
                </td>
                <td>
                  <a href={sessionHref(session.sessionId)}>{session.sessionId}</a>
                  {session.name !== '' && <div data-testid="run-name">{session.name}</div>}
                  <div className="muted small">{session.clientName}</div>
                  {(session.metadata?.tags.length ?? 0) > 0 && (
                    <div className="small" data-testid="run-tag-list">
                      {session.metadata?.tags.map((tag) => (
                        <span key={tag} className="chip">
                          {tag}
                        </span>
                      ))}
                    </div>
                  )}
                  {session.metadata?.note && (
                    <div className="muted small" data-testid="run-note-text">
                      {session.metadata.note}
                    </div>
                  )}
                  {session.writerConflict && (
                    <span
                      className="badge badge-warning"
                      data-testid="writer-conflict-badge"
                      title={`another trainer tried to write this session ${session.writerConflict.refusals} times`}
                    >
                      second trainer refused
                    </span>
                  )}
                  {session.openAlerts > 0 && (
                    <span
                      className="badge badge-warning"
                      data-testid="alert-badge"
                      title="watchdog alerts not yet acknowledged"
                    >
                      {session.openAlerts} alert{session.openAlerts === 1 ? '' : 's'}
                    </span>
                  )}
                  {session.partialHistory && (
                    <span className="badge badge-muted" data-testid="partial-history-badge">
                      partial history
                    </span>
                  )}
                </td>
                <td>{session.config?.modelName || '—'}</td>
                <td>{session.config?.datasetName || '—'}</td>
                <td>
                  <progress max={1} value={progressFraction(session)} />
                  <div className="small">{progressText(session)}</div>
                </td>
                <td>
                  {session.lastUpdateMs > 0n ? formatAgo(now - Number(session.lastUpdateMs)) : '—'}
                </td>
                <td className="numeric">{formatLoss(session.latestLoss)}</td>
                <td>
                  <RunActions session={session} onChanged={refresh} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {sessions && totalSize !== undefined && sessions.length < totalSize && (
        <p className="muted small" data-testid="sessions-count">
          Showing the newest {sessions.length} of {totalSize} sessions.{' '}
          {canShowMore && (
            <button type="button" onClick={showMore}>
              Show more
            </button>
          )}
        </p>
      )}
    </main>
  );
}
