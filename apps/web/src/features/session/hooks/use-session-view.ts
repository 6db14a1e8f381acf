import { useCallback, useSyncExternalStore } from 'react';
import type { SessionStore, SessionView } from '../store/session-store';

const noSubscription = (): (() => void) => () => undefined;

/** The session's view; re-renders the caller once per published frame. */
export function useSessionView(store: SessionStore): SessionView {
  return useSyncExternalStore(store.subscribe, store.getView, store.getView);
}

/**
 * One value picked from the view; the caller re-renders only when it
 * changes (return primitives or stable objects). With `active` false it
 * does not subscribe and keeps the value it read at render.
 */
export function useSessionSelect<T>(
  store: SessionStore,
  select: (view: SessionView) => T,
  active = true,
): T {
  const read = useCallback(() => select(store.getView()), [store, select]);
  return useSyncExternalStore(active ? store.subscribe : noSubscription, read, read);
}
