import { ConnectError } from '@connectrpc/connect';
import { SessionOrder, type SessionSummary, type TrainingStatus } from '@trainwatch/proto';
import { useCallback, useEffect, useState } from 'react';
import { useDashboardClient } from '../../../common/transport-context';

/** How often the list asks for sessions while the page is visible. */
export const SESSIONS_POLL_INTERVAL_MS = 1_000;
/** Sessions asked for per ListSessions call, and how many more "Show more" adds. */
export const SESSIONS_PAGE_SIZE = 100;
/**
 * Most sessions the list holds and polls. Past it the table would be too
 * long to read and each poll too heavy; the newest are the ones shown.
 */
export const MAX_LISTED_SESSIONS = 1_000;

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

export interface SessionsList {
  /** Newest first, as the server orders them; undefined until the first answer. */
  sessions?: readonly SessionSummary[];
  /** Sessions the server knows in all (may be more than `sessions`). */
  totalSize?: number;
  /** Why the last poll failed, in words; cleared by the next success. */
  error?: string;
  /** True when the server has more sessions than shown and the bound allows more. */
  canShowMore: boolean;
  /** Shows one more page (up to MAX_LISTED_SESSIONS) from the next poll on. */
  showMore: () => void;
  /** Polls again now (after a rename, tag edit or delete). */
  refresh: () => void;
}

/**
 * Polls ListSessions (unary) while the tab is visible, page by page up to
 * the number of sessions wanted (one page at first, more on "Show more").
 * Polling, not a stream, so the one streaming connection a tab holds is
 * left to the watched session.
 */
export function useSessionsList(
  intervalMs = SESSIONS_POLL_INTERVAL_MS,
  pageSize = SESSIONS_PAGE_SIZE,
  query: SessionsQuery = ALL_SESSIONS,
): SessionsList {
  const client = useDashboardClient();
  const [wanted, setWanted] = useState(pageSize);
  const [refreshes, setRefreshes] = useState(0);
  const [state, setState] = useState<Omit<SessionsList, 'canShowMore' | 'showMore' | 'refresh'>>(
    {},
  );
  const { text, statuses, tags, order } = query;
  // A new query starts again from one page.
  const queryKey = JSON.stringify({ text, statuses, tags, order });
  useEffect(() => setWanted(pageSize), [queryKey, pageSize]);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;

    const fetchWanted = async () => {
      const sessions: SessionSummary[] = [];
      let token = '';
      let totalSize = 0;
      do {
        const page = await client.listSessions(
          {
            pageSize: Math.min(pageSize, wanted - sessions.length),
            pageToken: token,
            text,
            statuses: [...statuses],
            tags: [...tags],
            order,
          },
          { signal: abort.signal, timeoutMs: 10_000 },
        );
        sessions.push(...page.sessions);
        totalSize = page.totalSize;
        token = page.nextPageToken;
      } while (token !== '' && sessions.length < wanted);
      return { sessions, totalSize };
    };

    const poll = async (): Promise<void> => {
      timer = undefined;
      if (document.visibilityState !== 'hidden') {
        try {
          const result = await fetchWanted();
          if (!abort.signal.aborted) setState(result);
        } catch (error) {
          if (abort.signal.aborted) return;
          const message = ConnectError.from(error).rawMessage;
          setState((previous) => ({
            ...previous,
            error: `Cannot reach the server: ${message}`,
          }));
        }
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void poll(), intervalMs);
    };
    const onVisible = (): void => {
      if (document.visibilityState === 'visible' && timer !== undefined) {
        clearTimeout(timer);
        void poll();
      }
    };

    void poll();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
    // The query's parts are in queryKey.
  }, [client, intervalMs, pageSize, wanted, queryKey, refreshes]);

  const showMore = useCallback(
    () => setWanted((current) => Math.min(MAX_LISTED_SESSIONS, current + pageSize)),
    [pageSize],
  );
  const shown = state.sessions?.length ?? 0;
  const canShowMore =
    state.totalSize !== undefined &&
    shown < state.totalSize &&
    shown >= wanted &&
    wanted < MAX_LISTED_SESSIONS;
  const refresh = useCallback(() => setRefreshes((count) => count + 1), []);
  return { ...state, canShowMore, showMore, refresh };
}
