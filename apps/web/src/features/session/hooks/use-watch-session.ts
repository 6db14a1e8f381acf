import { useEffect, useState, useSyncExternalStore } from 'react';
import { useDashboardClient } from '../../../common/transport-context';
import { SessionStore, type SessionView } from '../store/session-store';
import { runWatchLoop, type WatchLoopOptions } from './watch-loop';

export interface WatchedSession {
  store: SessionStore;
  view: SessionView;
}

/**
 * The one watch stream of this tab: opens it for `sessionId`, keeps it open
 * across server restarts, closes it on unmount. Re-renders at most once per
 * animation frame.
 */
export function useWatchSession(sessionId: string, options?: WatchLoopOptions): WatchedSession {
  const client = useDashboardClient();
  // One store per mounted watcher; the page is keyed by session id, so a
  // different session gets a fresh component and a fresh store.
  const [store] = useState(() => new SessionStore());
  const delayMs = options?.delayMs;

  useEffect(() => {
    const abort = new AbortController();
    void runWatchLoop(client, sessionId, store, abort.signal, { delayMs });
    return () => {
      abort.abort();
      store.dispose();
    };
  }, [client, sessionId, store, delayMs]);

  const view = useSyncExternalStore(store.subscribe, store.getView, store.getView);
  return { store, view };
}
