import type { ServerWritableStream } from '@grpc/grpc-js';
import type { WatchSessionRequest, WatchSessionResponse } from '@trainwatch/proto';
import { Observable } from 'rxjs';
import type { CredentialWatch } from '../auth/credential-watch';
import type { Identity } from '../auth/identity';
import { framedTogether } from '../common/grpc-pre-framed';
import { trackCall } from '../common/open-calls';
import type { Watcher } from '../fan-out/watcher';

type WatchCall = ServerWritableStream<WatchSessionRequest, WatchSessionResponse>;

/** Resolves when the call can take more writes, is gone, or the watch ended (its status goes out next). */
function writable(call: WatchCall, watcher: Watcher): Promise<void> {
  if (watcher.isClosed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      stopListening();
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
    const stopListening = watcher.onClose(done);
  });
}

/**
 * Pumps a watcher into a raw grpc-js server stream, pulling only while
 * write() says the stream can take more (two events waiting go out in one
 * write, see framedTogether): while it cannot, the watcher's
 * lanes do the holding (bounded scalars, latest-wins images). The returned
 * Observable emits nothing; it completes when the watch ends cleanly and
 * errors with the watcher's AppError otherwise (Nest then ends the call with its status).
 */
export function pumpToGrpc(
  starting: Watcher | Promise<Watcher>,
  call: WatchCall,
  /** The server's bound on one message written (MAX_MESSAGE_BYTES); two joined stay within it. */
  maxWriteBytes: number,
): Observable<never> {
  return new Observable<never>((subscriber) => {
    trackCall(call);
    let stopped = false;
    let watcher: Watcher | undefined;
    const stop = () => {
      stopped = true;
      watcher?.close();
    };
    call.on('cancelled', stop);
    // The client may be gone already; 'cancelled' will not fire again then.
    if (call.cancelled) stop();
    const pump = async () => {
      // A stored run is restored first; a client gone meanwhile ends the watch at once.
      watcher = await starting;
      if (stopped) watcher.close();
      while (!stopped) {
        const event = await watcher.next();
        if (event === undefined || stopped) break;
        // A batch's scalar event and its image frame are both waiting as a rule: one write.
        const after = watcher.nextIfReady();
        const together = after && framedTogether(event, after, maxWriteBytes);
        let more: boolean;
        if (together !== undefined) more = call.write(together as unknown as WatchSessionResponse);
        else {
          more = call.write(event);
          if (after !== undefined) more = call.write(after);
        }
        if (!more) await writable(call, watcher);
      }
    };
    pump().then(
      () => subscriber.complete(),
      // The global AppExceptionFilter maps the error to its status.
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      call.off('cancelled', stop);
      stop();
    };
  });
}

/**
 * A watcher as the async iterable a Connect server-streaming handler
 * returns. Connect pulls the next event only once the previous one was
 * written, so an unpulled generator is the "not writable" signal.
 */
export async function* iterateWatcher(
  starting: Watcher | Promise<Watcher>,
  signal: AbortSignal,
  onWrite: (event: WatchSessionResponse) => void,
): AsyncGenerator<WatchSessionResponse> {
  const watcher = await starting;
  if (signal.aborted) {
    watcher.close();
    return;
  }
  const abort = () => watcher.close();
  signal.addEventListener('abort', abort);
  try {
    for (;;) {
      const event = await watcher.next();
      if (event === undefined) return;
      onWrite(event);
      yield event;
    }
  } finally {
    signal.removeEventListener('abort', abort);
    watcher.close();
  }
}

/** The watcher, watched for its caller signing out (UNAUTHENTICATED within AUTH_RECHECK_MS); both transports. */
export async function trackWatcher(
  starting: Watcher | Promise<Watcher>,
  identity: Identity,
  credentials: CredentialWatch,
): Promise<Watcher> {
  const watcher = await starting;
  credentials.track(identity, watcher);
  return watcher;
}
