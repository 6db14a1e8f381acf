import { useSyncExternalStore } from 'react';

/** The pages of the app. */
export type Route =
  | { page: 'sessions' }
  | { page: 'admin' }
  | { page: 'session'; sessionId: string }
  | { page: 'compare'; sessionIds: string[] };

/** "#/sessions/abc" → the session page; anything else → the list. */
export function parseRoute(hash: string): Route {
  if (hash === '#/admin') return { page: 'admin' };
  const compare = /^#\/compare\?runs=(.*)$/.exec(hash);
  if (compare) {
    try {
      const sessionIds = compare[1]
        .split(',')
        .filter((id) => id !== '')
        .map((id) => decodeURIComponent(id));
      return { page: 'compare', sessionIds };
    } catch {
      return { page: 'sessions' };
    }
  }
  const match = /^#\/sessions\/(.+)$/.exec(hash);
  if (match) {
    try {
      return { page: 'session', sessionId: decodeURIComponent(match[1]) };
    } catch {
      return { page: 'sessions' };
    }
  }
  return { page: 'sessions' };
}

/** The compare view of these runs. */
export function compareHref(sessionIds: readonly string[]): string {
  return `#/compare?runs=${sessionIds.map(encodeURIComponent).join(',')}`;
}

export function sessionHref(sessionId: string): string {
  return `#/sessions/${encodeURIComponent(sessionId)}`;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

const readHash = (): string => window.location.hash;

/** The route from location.hash; no router library needed for two pages. */
export function useHashRoute(): Route {
  return parseRoute(useSyncExternalStore(subscribe, readHash, () => ''));
}
