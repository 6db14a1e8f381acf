import type { Client, ClientReadableStream } from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { WatchSessionRequestSchema } from '@trainwatch/proto';
import { asBuffer, identity, rawClient, sessionMetadata } from './grpc-raw';
import { readGrpcWeb } from './grpc-web-raw';
import type { Target } from './targets';
import { scanRelayedBatch, scanWatchResponse } from './watch-scan';
import { PATHS } from './wire';

/** Where a watcher connects: what it needs of a Target (a watcher process gets just this). */
export type WatchEndpoint = Pick<Target, 'kind' | 'grpcAddress' | 'httpUrl'>;

/** How a watcher reaches the target. */
export type WatchProtocol = 'grpc' | 'grpc-web';

/** Called with the batch_idx of what arrived and performance.now() at arrival. */
export interface WatchHandlers {
  /** `appliedAtMs`: the product's BatchEvent.received_at_ms (Unix ms it applied the batch); absent on the relay. */
  onBatch(batchIdx: number, atMs: number, appliedAtMs?: number): void;
  onImages(batchIdx: number, atMs: number): void;
}

/** A live watcher; `received` counts events of any kind. */
export interface Watcher {
  received: number;
  error: string | undefined;
  /** Stop reading without closing (grpc only): models a stalled or slow reader. */
  pause(): void;
  resume(): void;
  close(): void;
}

/** Times what one WatchSessionResponse carries (read from its bytes, see watch-scan.ts). */
function dispatch(bytes: Uint8Array, handlers: WatchHandlers, atMs: number): void {
  const event = scanWatchResponse(bytes);
  if (event.kind === 'batch') handlers.onBatch(event.batchIdx, atMs, event.receivedAtMs);
  else if (event.kind === 'images') handlers.onImages(event.batchIdx, atMs);
}

function nativeWatcher(
  target: WatchEndpoint,
  sessionId: string,
  handlers: WatchHandlers,
  readIntervalMs?: number,
): Watcher {
  const client: Client = rawClient(target.grpcAddress);
  const request = asBuffer(
    toBinary(WatchSessionRequestSchema, create(WatchSessionRequestSchema, { sessionId })),
  );
  const call: ClientReadableStream<Buffer> = client.makeServerStreamRequest(
    PATHS.watchSession,
    asBuffer,
    identity,
    request,
    sessionMetadata(sessionId),
  );
  let closed = false;
  // A slow reader takes one message per interval: it pauses after each one, so
  // grpc-js stops reading and HTTP/2 flow control pushes back on the server.
  const throttle =
    readIntervalMs === undefined ? undefined : setInterval(() => call.resume(), readIntervalMs);
  const watcher: Watcher = {
    received: 0,
    error: undefined,
    pause: () => call.pause(),
    resume: () => call.resume(),
    close: () => {
      closed = true;
      if (throttle) clearInterval(throttle);
      call.cancel();
      client.close();
    },
  };
  call.on('data', (bytes: Buffer) => {
    const atMs = performance.now();
    watcher.received++;
    if (throttle) call.pause();
    if (target.kind === 'product') {
      dispatch(bytes, handlers, atMs);
    } else {
      // The relay forwards the trainer's own MetricsRequest: scalars and images in one message.
      const batchIdx = scanRelayedBatch(bytes);
      if (batchIdx !== undefined) {
        handlers.onBatch(batchIdx, atMs);
        handlers.onImages(batchIdx, atMs);
      }
    }
  });
  call.on('error', (error: Error) => {
    if (!closed) watcher.error ??= error.message;
  });
  return watcher;
}

function webWatcher(target: WatchEndpoint, sessionId: string, handlers: WatchHandlers): Watcher {
  if (!target.httpUrl) throw new Error(`${target.kind} has no gRPC-Web endpoint`);
  const abort = new AbortController();
  const watcher: Watcher = {
    received: 0,
    error: undefined,
    pause: () => {
      throw new Error('pause is only modelled for native gRPC watchers');
    },
    resume: () => undefined,
    close: () => abort.abort(),
  };
  const request = toBinary(
    WatchSessionRequestSchema,
    create(WatchSessionRequestSchema, { sessionId }),
  );
  readGrpcWeb(`${target.httpUrl}${PATHS.watchSession}`, request, abort.signal, (bytes) => {
    watcher.received++;
    dispatch(bytes, handlers, performance.now());
  }).catch((error: unknown) => {
    if (!abort.signal.aborted)
      watcher.error ??= error instanceof Error ? error.message : String(error);
  });
  return watcher;
}

/** A native gRPC watcher that reads one message every `readIntervalMs` (and receives nothing faster). */
export function openSlowWatcher(
  target: Target,
  sessionId: string,
  readIntervalMs: number,
): Watcher {
  const ignore = () => undefined;
  return nativeWatcher(target, sessionId, { onBatch: ignore, onImages: ignore }, readIntervalMs);
}

/** Opens a watcher on `sessionId` over the given protocol. */
export function openWatcher(
  target: WatchEndpoint,
  protocol: WatchProtocol,
  sessionId: string,
  handlers: WatchHandlers,
): Watcher {
  return protocol === 'grpc'
    ? nativeWatcher(target, sessionId, handlers)
    : webWatcher(target, sessionId, handlers);
}
