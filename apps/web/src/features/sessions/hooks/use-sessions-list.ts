import { ConnectError } from '@connectrpc/connect';
import type { SessionSummary } from '@trainwatch/proto';
import { useEffect, useState } from 'react';
import { useDashboardClient } from '../../../common/transport-context';

/** How often the list asks for sessions while the page is visible. */
export const SESSIONS_POLL_INTERVAL_MS = 1_000;

export interface SessionsList {
  /** Newest first, as the server orders them; undefined until the first answer. */
  sessions?: readonly SessionSummary[];
  /** Why the last poll failed, in words; cleared by the next success. */
  error?: string;
}

/**
 * Polls ListSessions (unary) while the tab is visible. Polling, not a stream,
 * so the one streaming connection a tab holds is left to the watched session.
 */
export function useSessionsList(intervalMs = SESSIONS_POLL_INTERVAL_MS): SessionsList {
  const client = useDashboardClient();
  const [state, setState] = useState<SessionsList>({});

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;

    const poll = async (): Promise<void> => {
      timer = undefined;
      if (document.visibilityState !== 'hidden') {
        try {
          const response = await client.listSessions(
            {},
            { signal: abort.signal, timeoutMs: 10_000 },
          );
          if (!abort.signal.aborted) setState({ sessions: response.sessions });
        } catch (error) {
          if (abort.signal.aborted) return;
          const message = ConnectError.from(error).rawMessage;
          setState((previous) => ({
            sessions: previous.sessions,
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
  }, [client, intervalMs]);

  return state;
}
