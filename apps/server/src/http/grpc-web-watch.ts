import type { IncomingMessage, ServerResponse } from 'node:http';
import { fromBinary } from '@bufbuild/protobuf';
import { encodeEnvelope } from '@connectrpc/connect/protocol';
import {
  contentTypeProto,
  parseTimeout,
  setTrailerStatus,
  trailerFlag,
  trailerSerialize,
} from '@connectrpc/connect/protocol-grpc-web';
import {
  DashboardService as DashboardServiceDesc,
  FRAME_HEADER_BYTES,
  WatchSessionRequestSchema,
  WatchSessionResponseSchema,
  framedOnce,
  type WatchSessionRequest,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import type { Authenticator } from '../auth/authenticator';
import type { CredentialWatch } from '../auth/credential-watch';
import { errors, toConnectError, type AppError } from '../common/app-error';
import { asAppError } from '../common/app-exception.filter';
import { joinedFrames } from '../common/grpc-pre-framed';
import { DEFAULT_CLIENT_RECEIVE_BYTES } from '../common/limits';
import type { DashboardService } from '../dashboard/dashboard.service';
import { trackWatcher } from '../dashboard/watch-streams';
import type { Watcher } from '../fan-out/watcher';
import type { MetricsService } from '../metrics/metrics.service';
import { sendGrpcWebError } from './grpc-web-status';
import { limitedBody } from './request-body-limit';

/** The one method served here instead of through the Connect router. */
export const WATCH_SESSION_PATH = `/${DashboardServiceDesc.typeName}/WatchSession`;

/**
 * Binary protobuf gRPC-Web (what browsers' connect-web sends by default):
 * the only encoding whose frames are the bytes every watcher already shares.
 * JSON and base64 text watches stay on the Connect router.
 */
const PRE_FRAMED_CONTENT_TYPE = /^application\/grpc-web(\+proto)?\s*(;|$)/i;

/** Whether this request is a WatchSession the pre-framed writer answers. */
export function isPreFramedWatch(req: IncomingMessage, path: string): boolean {
  return (
    path === WATCH_SESSION_PATH &&
    req.method === 'POST' &&
    PRE_FRAMED_CONTENT_TYPE.test(req.headers['content-type'] ?? '')
  );
}

export interface GrpcWebWatchDeps {
  dashboard: DashboardService;
  metrics: MetricsService;
  authenticator: Authenticator;
  /** Ends the watch once its caller's key is revoked or sign-in ends (as on every transport). */
  credentials: CredentialWatch;
  /** Largest request body (HTTP_MAX_REQUEST_BYTES). */
  maxRequestBytes: number;
}

const headerValue = (value: string | string[] | undefined): string | null =>
  (Array.isArray(value) ? value[0] : value) ?? null;

/** The gRPC-Web trailer frame ending a response: OK, or the error's status and message. */
function trailerFrame(error?: AppError): Uint8Array {
  const trailer = new Headers();
  setTrailerStatus(trailer, error === undefined ? undefined : toConnectError(error));
  return encodeEnvelope(trailerFlag, trailerSerialize(trailer));
}

/** The request's one message, read within the body bound; a clear error for anything else. */
async function readRequest(req: IncomingMessage, maxBytes: number, res: ServerResponse) {
  const encoding = req.headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    throw errors.invalidArgument(`grpc-encoding ${encoding} is not supported: send identity`);
  }
  const chunks: Uint8Array[] = [];
  const body = limitedBody(req, maxBytes, () => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  });
  for await (const chunk of body) chunks.push(chunk);
  // One length-prefixed message: flags, big-endian length, the bytes.
  const bytes = Buffer.concat(chunks);
  const length = bytes.byteLength >= FRAME_HEADER_BYTES ? bytes.readUInt32BE(1) : -1;
  if (length < 0 || bytes.byteLength !== FRAME_HEADER_BYTES + length) {
    throw errors.invalidArgument(
      `WatchSession takes exactly one length-prefixed request message; the body has ${bytes.byteLength} bytes`,
    );
  }
  if (bytes[0] !== 0) {
    throw errors.invalidArgument(
      `request message flags ${bytes[0]}: only 0 (uncompressed) is supported`,
    );
  }
  const message = bytes.subarray(FRAME_HEADER_BYTES);
  try {
    return fromBinary(WatchSessionRequestSchema, message);
  } catch (cause) {
    throw errors.invalidArgument(`the request is not a WatchSessionRequest: ${String(cause)}`);
  }
}

/**
 * Resolves when the response can take more bytes, is gone, or the watch
 * ended (its final status goes out next, behind what is already written).
 */
function writable(res: ServerResponse, watcher: Watcher): Promise<void> {
  if (watcher.isClosed || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      stopListening();
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    const stopListening = watcher.onClose(done);
  });
}

/** An event's shared frame, checked against the client's 4 MiB bound on one message. */
function frameOf(event: WatchSessionResponse): Uint8Array {
  const frame = framedOnce(WatchSessionResponseSchema, event);
  // Events are built within DASHBOARD_MESSAGE_BUDGET_BYTES; this guards the client's bound.
  if (frame.byteLength - FRAME_HEADER_BYTES > DEFAULT_CLIENT_RECEIVE_BYTES) {
    throw errors.resourceExhausted(
      `a ${event.event.case ?? 'watch'} event of ${frame.byteLength - FRAME_HEADER_BYTES} bytes is over the ${DEFAULT_CLIENT_RECEIVE_BYTES}-byte message limit`,
    );
  }
  return frame;
}

/**
 * Writes a watcher's events to one HTTP response as gRPC-Web frames. Every
 * frame is the event's shared encoding (framedOnce), the same bytes for
 * every watcher: nothing is encoded per stream, and /metrics counts the
 * encoded size it already has. A batch's scalar event and its image frame,
 * both waiting as a rule, go out in one write of their joined frames, built
 * once for every stream (joinedFrames; native streams write the same bytes).
 * It pulls the next event only while the response takes more (write() true
 * or 'drain'): while it does not, the watcher's lanes hold the rest
 * (bounded scalars, latest-wins images).
 */
async function pump(watcher: Watcher, res: ServerResponse, metrics: MetricsService) {
  for (;;) {
    const event = await watcher.next();
    if (event === undefined || res.destroyed) return;
    const frame = frameOf(event);
    const after = watcher.nextIfReady();
    metrics.countWatchEvent('grpc-web', event);
    let more: boolean;
    if (after === undefined) more = res.write(frame);
    else {
      // Joined only when both together are within the bound each frame is checked against.
      const together = joinedFrames(event, after, DEFAULT_CLIENT_RECEIVE_BYTES);
      if (together !== undefined) more = res.write(together);
      else {
        res.write(frame);
        more = res.write(frameOf(after));
      }
      metrics.countWatchEvent('grpc-web', after);
    }
    if (!more) await writable(res, watcher);
  }
}

/**
 * DashboardService.WatchSession over binary gRPC-Web, answered here rather
 * than by a Connect handler: the same access check as every call, the same
 * watcher as native gRPC, and pre-framed bytes written straight to the
 * response. An error before the first event is a trailers-only answer; one
 * after it (an overflow, the session gone) is the trailer frame.
 */
export async function serveGrpcWebWatch(
  req: IncomingMessage,
  res: ServerResponse,
  { dashboard, metrics, authenticator, credentials, maxRequestBytes }: GrpcWebWatchDeps,
): Promise<void> {
  let watcher: Watcher;
  // A deadline the client set (grpc-timeout), as Connect honours it for every other call.
  const deadline = parseTimeout(headerValue(req.headers['grpc-timeout']), Number.MAX_SAFE_INTEGER);
  try {
    if (deadline.error !== undefined) throw errors.invalidArgument(deadline.error.rawMessage);
    const identity = await authenticator.authorize(WATCH_SESSION_PATH, {
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
    });
    const request: WatchSessionRequest = await readRequest(req, maxRequestBytes, res);
    watcher = await trackWatcher(dashboard.watchSession(request), identity, credentials);
  } catch (error) {
    if (!res.destroyed)
      sendGrpcWebError(res, toConnectError(asAppError(error, 'gRPC-Web WatchSession')));
    return;
  }
  // The browser went away while the watch started: nothing to send.
  if (res.destroyed) {
    watcher.close();
    return;
  }
  res.on('close', () => watcher.close());
  const timer =
    deadline.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            watcher.close(
              errors.deadlineExceeded(`the watch's deadline of ${deadline.timeoutMs} ms passed`),
            ),
          deadline.timeoutMs,
        );
  res.writeHead(200, { 'Content-Type': contentTypeProto });
  let failure: AppError | undefined;
  try {
    await pump(watcher, res, metrics);
  } catch (error) {
    failure = asAppError(error, 'gRPC-Web WatchSession');
  } finally {
    clearTimeout(timer);
    watcher.close();
  }
  if (!res.destroyed) res.end(trailerFrame(failure));
}
