import { useCallback, useMemo, useState } from 'react';
import { compareHref } from '../../../common/use-hash-route';
import { MAX_COMPARED_RUNS, MIN_COMPARED_RUNS } from '../../compare/compare-data';
import { ALL_SESSIONS, useRunPages, type SessionsQuery } from '../hooks/use-run-pages';
import { EmptyState } from './empty-state';
import { RunsList } from './runs-list';
import { RunsToolbar } from './runs-toolbar';

/**
 * The runs page: every run the server keeps, live and stored, in one
 * scrolling list fetched a page at a time as it comes into view.
 */
export function SessionsPage({
  pollIntervalMs,
  pageSize,
}: {
  pollIntervalMs?: number;
  pageSize?: number;
}) {
  const [query, setQuery] = useState<SessionsQuery>(ALL_SESSIONS);
  const { pages, error, setVisible, refresh } = useRunPages(query, pollIntervalMs, pageSize);
  const filtered = query !== ALL_SESSIONS;
  // Runs picked for the compare view, in the order picked; kept while the list scrolls or filters.
  const [selected, setSelected] = useState<string[]>([]);
  const selectedSet = useMemo(() => new Set(selected), [selected]);
  const toggle = useCallback(
    (id: string) =>
      setSelected((current) =>
        current.includes(id)
          ? current.filter((one) => one !== id)
          : current.length < MAX_COMPARED_RUNS
            ? [...current, id]
            : current,
      ),
    [],
  );
  const total = pages.totalSize;

  return (
    <main className="page">
      <h1>Training sessions</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {total === undefined && !error && <p className="muted">Loading sessions…</p>}
      <RunsToolbar query={query} onChange={setQuery} />
      <p className="small">
        {selected.length >= MIN_COMPARED_RUNS ? (
          <a href={compareHref(selected)} data-testid="runs-compare">
            Compare {selected.length} runs
          </a>
        ) : (
          <span className="muted" data-testid="runs-compare-hint">
            Tick {MIN_COMPARED_RUNS} to {MAX_COMPARED_RUNS} runs to compare them.
          </span>
        )}
        {total !== undefined && total > 0 && (
          <span className="muted" data-testid="sessions-count">
            {' '}
            · {total} run{total === 1 ? '' : 's'}
            {pages.truncated &&
              `; the first ${pages.rowCount} are listed, search to reach the rest`}
          </span>
        )}
      </p>
      {total === 0 && !filtered && <EmptyState />}
      {total === 0 && filtered && (
        <p className="muted" data-testid="runs-none-match">
          No run matches.
        </p>
      )}
      {total !== undefined && total > 0 && (
        <RunsList
          pages={pages}
          selected={selectedSet}
          onToggle={toggle}
          onChanged={refresh}
          onVisible={setVisible}
        />
      )}
    </main>
  );
}
