import { useSyncExternalStore } from 'react';

/** The two pages of the app. */
export type Route = { page: 'sessions' } | { page: 'session'; sessionId: string };

/** "#/sessions/abc" → the session page; anything else → the list. */
export function parseRoute(hash: string): Route {
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
