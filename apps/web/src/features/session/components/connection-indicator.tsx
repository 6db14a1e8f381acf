import { formatAgo } from '../../../common/format';
import { useNow } from '../../../common/use-now';
import type { LinkState } from '../store/session-store';

function linkText(link: LinkState): string {
  switch (link.kind) {
    case 'connecting':
      return 'Connecting…';
    case 'live':
      return 'Live';
    case 'reconnecting':
      return `Reconnecting… (${link.reason}; attempt ${link.attempt})`;
    case 'not-found':
      return 'Session not found';
    case 'ended':
      return 'Run finished';
  }
}

/** Stream health and "last update N ms ago", ticking on its own. */
export function ConnectionIndicator({
  link,
  lastEventAt,
}: {
  link: LinkState;
  lastEventAt: number | undefined;
}) {
  const now = useNow(250);
  return (
    <span
      className={`link link-${link.kind}`}
      data-testid="connection-indicator"
      data-link={link.kind}
      data-last-event-at={lastEventAt}
      role="status"
    >
      <span className="dot" aria-hidden="true" />
      {linkText(link)}
      {lastEventAt !== undefined && (
        <span className="muted"> · last update {formatAgo(now - lastEventAt)}</span>
      )}
    </span>
  );
}
