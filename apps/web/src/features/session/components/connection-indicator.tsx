import { ConnectionState, isFinished, type SessionSummary } from '@trainwatch/proto';
import { formatAgo } from '../../../common/format';
import { useNow } from '../../../common/use-now';
import type { LinkState } from '../store/session-store';

/** What the dot and its words say: the stream's health, then the run's. */
type Shown = { kind: LinkState['kind'] | 'waiting'; text: string };

function shownState(link: LinkState, summary: SessionSummary | undefined): Shown {
  switch (link.kind) {
    case 'connecting':
      return { kind: link.kind, text: 'Connecting…' };
    case 'reconnecting':
      return {
        kind: link.kind,
        text: `Reconnecting… (${link.reason}; attempt ${link.attempt})`,
      };
    case 'not-found':
      return { kind: link.kind, text: 'Session not found' };
    case 'ended':
      return { kind: link.kind, text: 'Run finished' };
    case 'live':
      // An open stream only proves the server answers (keepalives keep it
      // open forever); Live means new data can still come from the trainer.
      if (isFinished(summary?.status)) return { kind: 'ended', text: 'Run finished' };
      if (summary && summary.connection !== ConnectionState.CONNECTED) {
        return { kind: 'waiting', text: 'Waiting for the trainer' };
      }
      return { kind: link.kind, text: 'Live' };
  }
}

/**
 * Stream and run health, and how long ago the server last received data
 * for the run (the same clock as the runs list), ticking on its own.
 */
export function ConnectionIndicator({
  link,
  summary,
  lastEventAt,
}: {
  link: LinkState;
  summary: SessionSummary | undefined;
  /** Client clock of the last stream event, keepalives included (e2e tests read it). */
  lastEventAt: number | undefined;
}) {
  const now = useNow(250);
  const shown = shownState(link, summary);
  const lastUpdateMs = Number(summary?.lastUpdateMs ?? 0n);
  return (
    <span
      className={`link link-${shown.kind}`}
      data-testid="connection-indicator"
      data-link={link.kind}
      data-last-event-at={lastEventAt}
      role="status"
    >
      <span className="dot" aria-hidden="true" />
      {shown.text}
      {lastUpdateMs > 0 && (
        <span className="muted"> · last update {formatAgo(now - lastUpdateMs)}</span>
      )}
    </span>
  );
}
