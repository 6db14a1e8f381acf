import type { SessionSummary } from '@trainwatch/proto';
import { ConnectionState, globalStep } from '@trainwatch/proto';
import { memo } from 'react';
import { connectionLabel, formatAgo, formatLoss } from '../../../common/format';
import { sessionHref } from '../../../common/use-hash-route';
import { StatusBadge } from '../../../common/status-badge';
import { RunActions } from './run-actions';

/** The run's progress as short lines (the column is narrow and a row's height is fixed). */
function progressLines(session: SessionSummary): string[] {
  const config = session.config;
  if (!config || session.batchesReceived === 0n) return ['not started'];
  return [
    `epoch ${session.epoch + 1}/${config.totalEpochs}`,
    `batch ${session.batchIdx + 1}/${config.batchesPerEpoch}`,
  ];
}

function progressFraction(session: SessionSummary): number {
  const config = session.config;
  if (!config || config.totalEpochs <= 0 || config.batchesPerEpoch <= 0) return 0;
  const total = config.totalEpochs * config.batchesPerEpoch;
  const done = Number(globalStep(session.epoch, session.batchIdx, config.batchesPerEpoch)) + 1;
  return Math.min(1, done / total);
}

interface RunRowProps {
  session: SessionSummary;
  index: number;
  selected: boolean;
  now: number;
  onToggle: (id: string) => void;
  onChanged: () => void;
  measure: (row: HTMLTableRowElement | null) => void;
}

/**
 * One run of the list. Memoised: while the list scrolls, rows that stay on
 * screen keep their elements and only the rows coming in render. Every line
 * is one line (longer text ends in an ellipsis; a note's full text is its
 * title), so a row is RUN_ROW_HEIGHT_PX high whatever it holds and the list
 * measures it without moving any other row; only a row being edited grows.
 */
export const RunRow = memo(function RunRow({
  session,
  index,
  selected,
  now,
  onToggle,
  onChanged,
  measure,
}: RunRowProps) {
  return (
    <tr
      ref={measure}
      className="run-row"
      data-index={index}
      data-testid="session-row"
      data-session-id={session.sessionId}
    >
      <td>
        <input
          type="checkbox"
          aria-label={`Compare ${session.sessionId}`}
          data-testid="run-select"
          checked={selected}
          onChange={() => onToggle(session.sessionId)}
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
      <td className="run-identity">
        <div className="run-line">
          <a href={sessionHref(session.sessionId)}>{session.sessionId}</a>
        </div>
        <div className="run-line small">
          {session.name !== '' && <span data-testid="run-name">{session.name}</span>}
          {session.name !== '' && session.clientName !== '' && ' · '}
          <span className="muted">{session.clientName}</span>
        </div>
        <div className="run-line small">
          {session.metadata?.tags.length ? (
            <span data-testid="run-tag-list">
              {session.metadata.tags.map((tag) => (
                <span key={tag} className="chip">
                  {tag}
                </span>
              ))}
            </span>
          ) : null}
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
        </div>
        {session.metadata?.note && (
          <div
            className="run-line muted small"
            data-testid="run-note-text"
            title={session.metadata.note}
          >
            {session.metadata.note}
          </div>
        )}
      </td>
      <td>{session.config?.modelName || '—'}</td>
      <td>{session.config?.datasetName || '—'}</td>
      <td>
        <progress max={1} value={progressFraction(session)} />
        {progressLines(session).map((line) => (
          <div key={line} className="run-line small">
            {line}
          </div>
        ))}
      </td>
      <td>{session.lastUpdateMs > 0n ? formatAgo(now - Number(session.lastUpdateMs)) : '—'}</td>
      <td className="numeric">{formatLoss(session.latestLoss)}</td>
      <td>
        <RunActions session={session} onChanged={onChanged} />
      </td>
    </tr>
  );
});

/** A row whose page is still on its way: the list keeps its height so the scrollbar does not jump. */
export function LoadingRow({
  index,
  measure,
}: {
  index: number;
  measure: (row: HTMLTableRowElement | null) => void;
}) {
  return (
    <tr
      ref={measure}
      data-index={index}
      data-testid="session-row-loading"
      className="run-row loading-row"
    >
      <td colSpan={9} className="muted small">
        …
      </td>
    </tr>
  );
}
