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

/** A row's place in the list: absolute, `top` px from the list's top (the virtualizer's offset). */
function rowStyle(top: number) {
  return { transform: `translateY(${top}px)` };
}

/**
 * A thin bar for the run's progress. Not a <progress>: its shadow tree and
 * native look made it three times the layout objects of these two divs, in
 * every row that scrolls into view.
 */
function ProgressBar({ fraction }: { fraction: number }) {
  const percent = Math.round(fraction * 100);
  return (
    <div
      className="run-progress"
      role="progressbar"
      aria-label="Progress"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
    >
      <div style={{ width: `${percent}%` }} />
    </div>
  );
}

interface RunRowProps {
  session: SessionSummary;
  index: number;
  top: number;
  selected: boolean;
  now: number;
  onToggle: (id: string) => void;
  onChanged: () => void;
  measure: (row: HTMLDivElement | null) => void;
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
  top,
  selected,
  now,
  onToggle,
  onChanged,
  measure,
}: RunRowProps) {
  return (
    <div
      ref={measure}
      role="row"
      className="run-row runs-grid"
      style={rowStyle(top)}
      data-index={index}
      data-testid="session-row"
      data-session-id={session.sessionId}
    >
      <div role="cell">
        <input
          type="checkbox"
          aria-label={`Compare ${session.sessionId}`}
          data-testid="run-select"
          checked={selected}
          onChange={() => onToggle(session.sessionId)}
        />
      </div>
      <div role="cell">
        <StatusBadge status={session.status} />
        {session.connection !== ConnectionState.CONNECTED && (
          <div className="muted small" data-testid="connection-label">
            {connectionLabel(session.connection)}
          </div>
        )}
      </div>
      <div role="cell" className="run-identity">
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
      </div>
      <div role="cell">{session.config?.modelName || '—'}</div>
      <div role="cell">{session.config?.datasetName || '—'}</div>
      <div role="cell">
        <ProgressBar fraction={progressFraction(session)} />
        {progressLines(session).map((line) => (
          <div key={line} className="run-line small">
            {line}
          </div>
        ))}
      </div>
      <div role="cell">
        {session.lastUpdateMs > 0n ? formatAgo(now - Number(session.lastUpdateMs)) : '—'}
      </div>
      <div role="cell" className="numeric">
        {formatLoss(session.latestLoss)}
      </div>
      <div role="cell">
        <RunActions session={session} onChanged={onChanged} />
      </div>
    </div>
  );
});

/** A row whose page is still on its way: the list keeps its height so the scrollbar does not jump. */
export function LoadingRow({
  index,
  top,
  measure,
}: {
  index: number;
  top: number;
  measure: (row: HTMLDivElement | null) => void;
}) {
  return (
    <div
      ref={measure}
      role="row"
      style={rowStyle(top)}
      data-index={index}
      data-testid="session-row-loading"
      className="run-row loading-row"
    >
      <div role="cell" className="muted small">
        …
      </div>
    </div>
  );
}
