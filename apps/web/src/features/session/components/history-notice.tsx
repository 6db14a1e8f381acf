import type { SessionSummary } from '@trainwatch/proto';

/**
 * Says that the server does not hold the run from its start: it restarted
 * while the trainer went on, and the trainer resumed into a fresh session.
 */
export function HistoryNotice({ summary }: { summary: SessionSummary | undefined }) {
  if (!summary?.partialHistory) return null;
  return (
    <p className="notice" role="note" data-testid="partial-history-notice">
      History before step {summary.historyStartStep.toString()} is not on this server — it restarted
      while the run went on. The charts start at that step.
    </p>
  );
}
