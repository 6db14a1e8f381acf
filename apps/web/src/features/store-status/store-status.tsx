import { useEffect, useState } from 'react';

/** How often an open dashboard asks the server whether its store is saving runs. */
export const STORE_STATUS_INTERVAL_MS = 5000;
/** The prefix /healthz gives a store problem's reason (the server's HealthService). */
const STORE_REASON_PREFIX = 'store: ';

/**
 * The store problem a /healthz answer reports, or undefined: only a 503
 * whose reason names the store counts (a server starting or shutting down
 * is the session page's "reconnecting" case, not this one).
 */
export function storeProblemOf(status: number, body: unknown): string | undefined {
  if (status !== 503 || typeof body !== 'object' || body === null) return undefined;
  const reason = (body as { reason?: unknown }).reason;
  if (typeof reason !== 'string' || !reason.startsWith(STORE_REASON_PREFIX)) return undefined;
  return reason.slice(STORE_REASON_PREFIX.length);
}

/**
 * Why the server's store is not saving runs right now (its commits fail:
 * a full disk, a stopped PostgreSQL), or undefined while it saves them.
 * Asks /healthz every `intervalMs` while the page is visible, and at once
 * when it becomes visible again; an unreachable server reports nothing
 * here.
 */
export function useStoreProblem(intervalMs = STORE_STATUS_INTERVAL_MS): string | undefined {
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    let stopped = false;
    let asking = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A function, not a test on the property: it changes across the awaits below.
    const visible = () => document.visibilityState !== 'hidden';
    const ask = async () => {
      clearTimeout(timer);
      timer = undefined;
      if (asking || !visible()) return;
      asking = true;
      try {
        const response = await fetch('/healthz', { cache: 'no-store' });
        const body: unknown = await response.json().catch(() => undefined);
        if (!stopped) setProblem(storeProblemOf(response.status, body));
      } catch {
        // The server is unreachable: not a store problem (the pages say they are reconnecting).
        if (!stopped) setProblem(undefined);
      }
      asking = false;
      if (!stopped && visible()) {
        timer = setTimeout(() => void ask(), intervalMs);
      }
    };
    const onVisibility = () => {
      if (visible()) void ask();
    };
    void ask();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [intervalMs]);
  return problem;
}

/** Says, on every page, that runs are not being saved while the server's store fails. */
export function StoreStatusBanner({ intervalMs }: { intervalMs?: number }) {
  const problem = useStoreProblem(intervalMs);
  if (problem === undefined) return null;
  return (
    <p className="banner store-banner" role="alert" data-testid="store-banner">
      Runs are not being saved: {problem}. Trainers keep what is unsaved (within their buffers) and
      send it again once the store is back.
    </p>
  );
}
