import type { BenchResult } from '../common/result';

/** One full `npm run bench` in the history table (bench/history.json). */
export interface HistoryEntry {
  runId: string;
  /** When the run started (ISO). */
  date: string;
  commit: string;
  met: number;
  judged: number;
  /** Targets missed in that run, each with what was measured. */
  missed: string[];
}

/** Runs kept in bench/history.json: enough to see a regression, small enough to read. */
export const HISTORY_MAX_ENTRIES = 30;

/**
 * The history entry for `results`, or undefined unless they all come from one
 * full (not quick) run: a partial `--only` run mixes figures of several runs,
 * and a history row must name one run and one commit.
 */
export function historyEntry(results: readonly BenchResult[]): HistoryEntry | undefined {
  const first = results[0];
  if (first?.runId === undefined || first.commit === undefined) return undefined;
  if (results.some((r) => r.quick || r.runId !== first.runId || r.commit !== first.commit)) {
    return undefined;
  }
  const targets = results.flatMap((r) =>
    r.error ? [{ target: r.title, measured: 'benchmark failed', met: false }] : r.targets,
  );
  const judged = targets.filter((t) => t.met !== null);
  return {
    runId: first.runId,
    date: first.runId,
    commit: first.commit,
    met: judged.filter((t) => t.met === true).length,
    judged: judged.length,
    missed: judged.filter((t) => t.met === false).map((t) => `${t.target}: ${t.measured}`),
  };
}

/** `history` with `entry` added (or replacing the same run's), the oldest dropped past the bound. */
export function withEntry(history: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  const others = history.filter((h) => h.runId !== entry.runId);
  return [...others, entry].slice(-HISTORY_MAX_ENTRIES);
}
