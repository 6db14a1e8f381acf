import type { Client, ClientReadableStream } from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import {
  DashboardService,
  MetricsRequestSchema,
  WatchSessionRequestSchema,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { asBuffer, identity, rawClient, sessionMetadata } from './grpc-raw';
import type { Target } from './targets';
import { PATHS } from './wire';

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

function dispatch(response: WatchSessionResponse, handlers: WatchHandlers, atMs: number): void {
  switch (response.event.case) {
    case 'batch':
      handlers.onBatch(
        response.event.value.batchIdx,
        atMs,
        Number(response.event.value.receivedAtMs),
      );
      break;
    case 'images':
      handlers.onImages(response.event.value.batchIdx, atMs);
      break;
    default:
      break;
  }
}

function nativeWatcher(
  target: Target,
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
      dispatch(fromBinary(WatchSessionResponseSchema, bytes), handlers, atMs);
    } else {
      // The relay forwards the trainer's own MetricsRequest: scalars and images in one message.
      const message = fromBinary(MetricsRequestSchema, bytes);
      if (message.payload.case === 'batchData') {
        handlers.onBatch(message.payload.value.batchIdx, atMs);
        handlers.onImages(message.payload.value.batchIdx, atMs);
      }
    }
  });
  call.on('error', (error: Error) => {
    if (!closed) watcher.error ??= error.message;
  });
  return watcher;
}

function webWatcher(target: Target, sessionId: string, handlers: WatchHandlers): Watcher {
  if (!target.httpUrl) throw new Error(`${target.kind} has no gRPC-Web endpoint`);
  const transport = createGrpcWebTransport({ baseUrl: target.httpUrl, useBinaryFormat: true });
  const client = createClient(DashboardService, transport);
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
  void (async () => {
    try {
      for await (const response of client.watchSession({ sessionId }, { signal: abort.signal })) {
        watcher.received++;
        dispatch(response, handlers, performance.now());
      }
    } catch (error) {
      if (!abort.signal.aborted)
        watcher.error ??= error instanceof Error ? error.message : String(error);
    }
  })();
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
  target: Target,
  protocol: WatchProtocol,
  sessionId: string,
  handlers: WatchHandlers,
): Watcher {
  return protocol === 'grpc'
    ? nativeWatcher(target, sessionId, handlers)
    : webWatcher(target, sessionId, handlers);
}
