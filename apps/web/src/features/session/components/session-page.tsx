import { EpochChart } from '../../charts/epoch-chart';
import { LossChart } from '../../charts/loss-chart';
import { AuditLog } from '../../commands/components/audit-log';
import { CommandBar } from '../../commands/components/command-bar';
import { ImageGrid } from '../../images/image-grid';
import type { WatchLoopOptions } from '../hooks/watch-loop';
import { useWatchSession } from '../hooks/use-watch-session';
import { HistoryNotice } from './history-notice';
import { ProgressPanel } from './progress-panel';
import { SessionHeader } from './session-header';
import { WriterConflictBanner } from './writer-conflict-banner';

const NO_CLASS_NAMES: readonly string[] = [];

/** One session, live: the page behind #/sessions/<id>. Key it by session id. */
export function SessionPage({
  sessionId,
  watchOptions,
}: {
  sessionId: string;
  watchOptions?: WatchLoopOptions;
}) {
  const { view } = useWatchSession(sessionId, watchOptions);
  const { summary, link } = view;

  if (link.kind === 'not-found') {
    return (
      <main className="page">
        <a href="#/">← Sessions</a>
        <p className="error" role="alert">
          The server does not know session “{sessionId}”. {link.reason}
        </p>
      </main>
    );
  }

  return (
    <main className="page">
      <SessionHeader
        sessionId={sessionId}
        summary={summary}
        link={link}
        lastEventAt={view.lastEventAt}
      />
      {link.kind === 'reconnecting' && (
        <p className="banner" role="alert" data-testid="reconnecting-banner">
          Reconnecting… the chart continues where it left off once the server answers.
        </p>
      )}
      <WriterConflictBanner conflict={summary?.writerConflict} />
      <HistoryNotice summary={summary} />
      <CommandBar sessionId={sessionId} status={summary?.status} />
      <ProgressPanel summary={summary} performance={view.performance} latencyMs={view.latencyMs} />
      <LossChart
        loss={view.loss}
        revision={view.lossRevision}
        historyStartStep={summary?.partialHistory ? Number(summary.historyStartStep) : undefined}
      />
      <div className="two-columns">
        <ImageGrid
          frame={view.latestFrame}
          classNames={summary?.config?.classNames ?? NO_CLASS_NAMES}
        />
        <div>
          <EpochChart epochs={view.epochs} />
          <AuditLog entries={view.commands} />
        </div>
      </div>
    </main>
  );
}
