import { CommandState, type CommandAuditEntry } from '@trainwatch/proto';
import { auditCommandText, commandStateLabel, formatTime } from '../../../common/format';

/** Every command on this session, newest first: who, when, what, result. */
export function AuditLog({ entries }: { entries: readonly CommandAuditEntry[] }) {
  return (
    <section className="panel" data-testid="audit-log">
      <header className="panel-header">
        <h2>Command log</h2>
      </header>
      {entries.length === 0 ? (
        <p className="muted">No commands yet.</p>
      ) : (
        <ol className="audit">
          {[...entries].reverse().map((entry) => (
            <li
              key={entry.commandId}
              data-testid="audit-entry"
              data-state={commandStateLabel(entry.state)}
            >
              <span className="numeric muted">{formatTime(entry.issuedAtMs)}</span>{' '}
              <strong data-testid="audit-command">{auditCommandText(entry)}</strong> by{' '}
              {entry.issuedBy || 'unknown'}:{' '}
              <span
                className={
                  entry.state === CommandState.SUCCEEDED
                    ? 'ok'
                    : entry.state === CommandState.PENDING
                      ? 'muted'
                      : 'error'
                }
              >
                {commandStateLabel(entry.state)}
              </span>
              {entry.resultMessage && <span className="muted"> — {entry.resultMessage}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
