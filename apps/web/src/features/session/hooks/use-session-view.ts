import { useCallback, useMemo, useSyncExternalStore } from 'react';
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

/**
 * Like useSessionSelect, but the caller hears of changes at most once every
 * `intervalMs` (the last change of an interval is delivered at its end, so
 * the value shown is never older than that). For panels whose value changes
 * with every batch but that nobody reads 60 times a second, such as the
 * confusion matrix, whose table re-rendered on every frame (see
 * CONFUSION_REFRESH_MS in features/per-class).
 */
export function useSessionSelectEvery<T>(
  store: SessionStore,
  select: (view: SessionView) => T,
  intervalMs: number,
): T {
  const subscribe = useMemo(
    () => slowedSubscribe(store.subscribe, intervalMs),
    [store, intervalMs],
  );
  const read = useCallback(() => select(store.getView()), [store, select]);
  return useSyncExternalStore(subscribe, read, read);
}

/** `subscribe` whose listener is called at most once per `intervalMs`, the last call of an interval at its end. */
export function slowedSubscribe(
  subscribe: (listener: () => void) => () => void,
  intervalMs: number,
  now: () => number = () => performance.now(),
): (listener: () => void) => () => void {
  return (listener) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastCall = Number.NEGATIVE_INFINITY;
    const call = () => {
      timer = undefined;
      lastCall = now();
      listener();
    };
    const unsubscribe = subscribe(() => {
      if (timer !== undefined) return;
      const wait = lastCall + intervalMs - now();
      if (wait <= 0) call();
      else timer = setTimeout(call, wait);
    });
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      unsubscribe();
    };
  };
}
