import type { SessionSummary } from '@trainwatch/proto';
import { ConnectionState, globalStep } from '@trainwatch/proto';
import { connectionLabel, formatAgo, formatLoss } from '../../../common/format';
import { sessionHref } from '../../../common/use-hash-route';
import { useNow } from '../../../common/use-now';
import { StatusBadge } from '../../../common/status-badge';
import { useSessionsList } from '../hooks/use-sessions-list';
import { EmptyState } from './empty-state';

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
  const { sessions, totalSize, error, canShowMore, showMore } = useSessionsList(
    pollIntervalMs,
    pageSize,
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
      {sessions?.length === 0 && <EmptyState />}
      {sessions && sessions.length > 0 && (
        <table className="sessions" data-testid="sessions-table">
          <thead>
            <tr>
              <th>Status</th>
              <th>Session</th>
              <th>Model</th>
              <th>Dataset</th>
              <th>Progress</th>
              <th>Last update</th>
              <th>Latest loss</th>
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
                  <StatusBadge status={session.status} />
                  {session.connection !== ConnectionState.CONNECTED && (
                    <div className="muted small" data-testid="connection-label">
                      {connectionLabel(session.connection)}
                    </div>
                  )}
                </td>
                <td>
                  <a href={sessionHref(session.sessionId)}>{session.sessionId}</a>
                  <div className="muted small">{session.clientName}</div>
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
