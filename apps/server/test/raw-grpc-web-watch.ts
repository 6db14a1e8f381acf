import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  WatchSessionRequestSchema,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';

/**
 * A binary gRPC-Web WatchSession over a plain HTTP/1.1 request, whose
 * reading the test controls: pause() stops reading the socket, so the
 * server's writes back up as they would behind a stalled browser tab.
 */
export interface RawGrpcWebWatch {
  readonly events: WatchSessionResponse[];
  /** Fields of the trailer frame (or of a trailers-only answer), once the response ended. */
  trailer: Record<string, string> | undefined;
  pause(): void;
  resume(): void;
  close(): void;
}

/** The request body: one length-prefixed WatchSessionRequest. */
function requestFrame(sessionId: string, resumeCursor: bigint): Buffer {
  const bytes = toBinary(
    WatchSessionRequestSchema,
    create(WatchSessionRequestSchema, { sessionId, resumeCursor }),
  );
  const frame = Buffer.alloc(5 + bytes.byteLength);
  frame.writeUInt32BE(bytes.byteLength, 1);
  frame.set(bytes, 5);
  return frame;
}

function trailerFields(data: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of data.toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return fields;
}

export function rawGrpcWebWatch(
  httpUrl: string,
  sessionId: string,
  resumeCursor = 0n,
): RawGrpcWebWatch {
  const url = new URL('/telemetry.v1.DashboardService/WatchSession', httpUrl);
  const body = requestFrame(sessionId, resumeCursor);
  let response: IncomingMessage | undefined;
  const watch: RawGrpcWebWatch = {
    events: [],
    trailer: undefined,
    pause: () => response?.pause(),
    resume: () => response?.resume(),
    close: () => req.destroy(),
  };
  const req: ClientRequest = request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/grpc-web+proto',
      'x-grpc-web': '1',
      'content-length': String(body.byteLength),
    },
  });
  req.on('error', () => undefined);
  req.on('response', (res) => {
    response = res;
    if (res.headers['grpc-status'] !== undefined) {
      watch.trailer = {
        'grpc-status': String(res.headers['grpc-status']),
        'grpc-message': decodeURIComponent(String(res.headers['grpc-message'] ?? '')),
      };
    }
    // Frames arrive split across chunks: keep the unparsed tail.
    let pending: Buffer = Buffer.alloc(0);
    res.on('data', (chunk: Buffer) => {
      pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.byteLength >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.byteLength < 5 + length) break;
        const flags = pending[0] ?? 0;
        const data = pending.subarray(5, 5 + length);
        if ((flags & 0x80) !== 0) {
          const fields = trailerFields(data);
          fields['grpc-message'] = decodeURIComponent(fields['grpc-message'] ?? '');
          watch.trailer = fields;
        } else {
          watch.events.push(fromBinary(WatchSessionResponseSchema, data));
        }
        pending = pending.subarray(5 + length);
      }
    });
    res.on('error', () => undefined);
  });
  req.end(body);
  return watch;
}
