import { useSyncExternalStore } from 'react';
import { joinHash, splitHash } from '../features/charts/chart-view-params';

/** The pages of the app. */
export type Route =
  | { page: 'sessions' }
  | { page: 'admin' }
  | { page: 'session'; sessionId: string }
  | { page: 'compare'; sessionIds: string[] };

/**
 * "#/sessions/abc" → the session page; "#/compare?runs=a,b" → the compare
 * view; anything else → the list. Search parameters after the path hold the
 * chart view (see chart-view-params) and do not change the route.
 */
export function parseRoute(hash: string): Route {
  if (hash === '#/admin') return { page: 'admin' };
  const { path, params } = splitHash(hash);
  if (path === '#/compare') {
    const sessionIds = (params.get('runs') ?? '').split(',').filter((id) => id !== '');
    return { page: 'compare', sessionIds };
  }
  const match = /^#\/sessions\/(.+)$/.exec(path);
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
  return joinHash('#/compare', new URLSearchParams({ runs: sessionIds.join(',') }));
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
