import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { isFinished, type DashboardService } from '@trainwatch/proto';
import { CursorGapError, type SessionStore } from '../store/session-store';

/** First retry delay after a broken stream. */
export const RECONNECT_BASE_DELAY_MS = 250;
/** Longest wait between retries, so a restarted server is picked up quickly. */
export const RECONNECT_MAX_DELAY_MS = 4_000;

/** Exponential backoff: 250 ms, 500 ms, 1 s, ... capped at RECONNECT_MAX_DELAY_MS. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(RECONNECT_BASE_DELAY_MS * 2 ** attempt, RECONNECT_MAX_DELAY_MS);
}

export interface WatchLoopOptions {
  /** Delay before retry number `attempt` (0-based). */
  delayMs?: (attempt: number) => number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** Words for a broken stream, shown next to "Reconnecting…". */
function describe(error: unknown): string {
  if (error instanceof CursorGapError) return error.message;
  const connectError = ConnectError.from(error);
  if (connectError.code === Code.ResourceExhausted) return 'the dashboard fell behind; catching up';
  if (connectError.code === Code.Unavailable) return 'server unreachable';
  return connectError.rawMessage || Code[connectError.code];
}

/**
 * Watches one session until `signal` aborts: one stream at a time, a new
 * stream after any break, with backoff. The new stream resumes from the
 * last cursor applied: the server sends the missed events when it still
 * holds them, else a snapshot (merged by step).
 * Canceled is the normal end of watching; NOT_FOUND ends it only when the
 * session was never seen.
 */
export async function runWatchLoop(
  client: Client<typeof DashboardService>,
  sessionId: string,
  store: SessionStore,
  signal: AbortSignal,
  options: WatchLoopOptions = {},
): Promise<void> {
  const delayMs = options.delayMs ?? reconnectDelayMs;
  let attempt = 0;
  while (!signal.aborted) {
    const resumeCursor = store.resumeCursor;
    store.beginStream(resumeCursor);
    let first = true;
    try {
      for await (const response of client.watchSession({ sessionId, resumeCursor }, { signal })) {
        store.apply(response);
        // A snapshot, or the first event of a resumed stream: the view is whole again.
        if (first) {
          first = false;
          attempt = 0;
          store.setLink({ kind: 'live' });
        }
      }
      if (signal.aborted) return;
      // The server closed the stream cleanly. A finished run has nothing more
      // to say; anything else (a server shutting down) is worth a retry.
      if (isFinished(store.status)) {
        store.setLink({ kind: 'ended' });
        return;
      }
      store.setLink({
        kind: 'reconnecting',
        reason: 'stream closed by the server',
        attempt: attempt + 1,
      });
    } catch (error) {
      if (signal.aborted) return;
      const connectError = error instanceof CursorGapError ? undefined : ConnectError.from(error);
      if (connectError?.code === Code.Canceled) return;
      if (connectError?.code === Code.NotFound) {
        // Unknown from the start: a wrong link, say so and stop. Unknown
        // after we watched it: the server restarted and the trainer has not
        // re-registered yet, so keep trying.
        if (!store.hasSnapshot) {
          store.setLink({ kind: 'not-found', reason: connectError.rawMessage });
          return;
        }
        store.setLink({
          kind: 'reconnecting',
          reason: 'waiting for the trainer to rejoin the server',
          attempt: attempt + 1,
        });
        await sleep(delayMs(attempt), signal);
        attempt++;
        continue;
      }
      store.setLink({ kind: 'reconnecting', reason: describe(error), attempt: attempt + 1 });
    }
    await sleep(delayMs(attempt), signal);
    attempt++;
  }
}
