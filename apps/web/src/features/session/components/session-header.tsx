import type { SessionSummary } from '@trainwatch/proto';
import { connectionLabel } from '../../../common/format';
import { StatusBadge } from '../../../common/status-badge';
import type { LinkState } from '../store/session-store';
import { ConnectionIndicator } from './connection-indicator';
import { RunMetadataView } from './run-metadata';

export interface SessionHeaderProps {
  sessionId: string;
  summary: SessionSummary | undefined;
  link: LinkState;
  lastEventAt: number | undefined;
}

/** Name, status, config, hyperparameters, tags and note, and how fresh the data is. */
export function SessionHeader({ sessionId, summary, link, lastEventAt }: SessionHeaderProps) {
  const config = summary?.config;
  return (
    <header className="session-header">
      <div className="title-row">
        <a href="#/" className="back">
          ← Sessions
        </a>
        <h1 data-testid="session-title">{sessionId}</h1>
        <StatusBadge status={summary?.status} />
        <ConnectionIndicator link={link} summary={summary} lastEventAt={lastEventAt} />
      </div>
      {summary && (
        <dl className="facts">
          <dt>Model</dt>
          <dd>{config?.modelName || '—'}</dd>
          <dt>Dataset</dt>
          <dd>{config?.datasetName || '—'}</dd>
          <dt>Plan</dt>
          <dd>
            {config
              ? `${config.totalEpochs} epochs × ${config.batchesPerEpoch} batches of ${config.batchSize}`
              : '—'}
          </dd>
          <dt>Classes</dt>
          <dd>{summary.classCount || (config?.classNames.length ?? 0)}</dd>
          <dt>Client</dt>
          <dd>
            {summary.clientName} {summary.clientVersion}
          </dd>
          <dt>Trainer</dt>
          <dd>{connectionLabel(summary.connection)}</dd>
          {summary.statusMessage && (
            <>
              <dt>Message</dt>
              <dd>{summary.statusMessage}</dd>
            </>
          )}
        </dl>
      )}
      <RunMetadataView metadata={summary?.metadata} />
    </header>
  );
}
