import { ConnectError } from '@connectrpc/connect';
import { SessionOrder, type TrainingStatus } from '@trainwatch/proto';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboardClient } from '../../../common/transport-context';
import { RunPages, SESSIONS_PAGE_SIZE } from '../state/run-pages';

/** How often the rows in view are asked for again while the tab is visible. */
export const SESSIONS_POLL_INTERVAL_MS = 1_000;

/** What the runs page asks ListSessions for: search text, statuses, tags and order. */
export interface SessionsQuery {
  text: string;
  statuses: readonly TrainingStatus[];
  tags: readonly string[];
  order: SessionOrder;
}

export const ALL_SESSIONS: SessionsQuery = {
  text: '',
  statuses: [],
  tags: [],
  order: SessionOrder.UNSPECIFIED,
};

export interface RunPagesView {
  /** The query's pages; read rows with `pages.row(i)`. Replaced when the query changes. */
  pages: RunPages;
  /** Bumped on every answer, so the list re-renders. */
  version: number;
  /** Why the last call failed, in words; cleared by the next success. */
  error?: string;
  /** Tells which rows are on screen (the list asks for their pages). */
  setVisible: (first: number, last: number) => void;
  /** Asks for the rows in view again now (after a rename, tag edit or delete). */
  refresh: () => void;
}

/**
 * The runs list for a query, page by page as the rows come into view: one
 * ListSessions call at a time (unary, so the tab's one stream stays with a
 * watched session), pages in view asked again every `intervalMs` while the
 * tab is visible, at most MAX_HELD_PAGES held.
 */
export function useRunPages(
  query: SessionsQuery = ALL_SESSIONS,
  intervalMs = SESSIONS_POLL_INTERVAL_MS,
  pageSize = SESSIONS_PAGE_SIZE,
): RunPagesView {
  const client = useDashboardClient();
  const { text, statuses, tags, order } = query;
  const queryKey = JSON.stringify({ text, statuses, tags, order });
  const [pages, setPages] = useState(() => new RunPages(pageSize));
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string>();
  const visible = useRef({ first: 0, last: 0 });
  const fetching = useRef(pages);
  const wake = useRef<() => void>(() => undefined);

  useEffect(() => {
    // The previous query's rows stay on screen until this one's first page arrives.
    const current = new RunPages(pageSize);
    fetching.current = current;
    let published = false;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;

    const pump = async (): Promise<void> => {
      if (running || abort.signal.aborted) return;
      running = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      let delayMs: number | undefined;
      try {
        for (;;) {
          const { first, last } = visible.current;
          const job = current.nextJob(
            first,
            last,
            Date.now(),
            intervalMs,
            document.visibilityState !== 'hidden',
          );
          if (job === undefined) break;
          const response = await client.listSessions(
            {
              pageSize: current.pageSize,
              pageToken: job.token,
              text,
              statuses: [...statuses],
              tags: [...tags],
              order,
            },
            { signal: abort.signal, timeoutMs: 10_000 },
          );
          if (abort.signal.aborted) return;
          current.store(job.page, response, Date.now(), current.pageOf(visible.current.first));
          if (!published) {
            published = true;
            setPages(current);
          }
          setError(undefined);
          setVersion((count) => count + 1);
        }
        const { first, last } = visible.current;
        const due = current.nextRefreshAtMs(first, last, intervalMs);
        if (due !== undefined) delayMs = Math.max(0, due - Date.now());
      } catch (failure) {
        if (abort.signal.aborted) return;
        setError(`Cannot reach the server: ${ConnectError.from(failure).rawMessage}`);
        delayMs = intervalMs;
      } finally {
        running = false;
      }
      if (delayMs !== undefined && !abort.signal.aborted) {
        timer = setTimeout(() => void pump(), delayMs);
      }
    };
    wake.current = () => void pump();
    const onVisible = (): void => {
      if (document.visibilityState === 'visible') void pump();
    };
    void pump();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      abort.abort();
      wake.current = () => undefined;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
    // The query's parts are in queryKey.
  }, [client, intervalMs, pageSize, queryKey]);

  const setVisible = useCallback((first: number, last: number) => {
    const previous = visible.current;
    if (previous.first === first && previous.last === last) return;
    visible.current = { first, last };
    wake.current();
  }, []);
  const refresh = useCallback(() => {
    fetching.current.markStale();
    wake.current();
  }, []);
  return { pages, version, error, setVisible, refresh };
}
