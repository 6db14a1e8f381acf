import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  WatchSessionRequestSchema,
  WatchSessionResponseSchema,
  framedOnce,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import type { CredentialWatch } from '../auth/credential-watch';
import type { Authenticator } from '../auth/authenticator';
import { ANONYMOUS } from '../auth/identity';
import { errors } from '../common/app-error';
import type { DashboardService } from '../dashboard/dashboard.service';
import { Watcher } from '../fan-out/watcher';
import type { MetricsService } from '../metrics/metrics.service';
import { serveGrpcWebWatch } from './grpc-web-watch';

/** A binary gRPC-Web WatchSession request as Node hands it to the middleware. */
function watchRequest(headers: Record<string, string> = {}): IncomingMessage {
  const bytes = toBinary(
    WatchSessionRequestSchema,
    create(WatchSessionRequestSchema, { sessionId: 's' }),
  );
  const frame = Buffer.alloc(5 + bytes.byteLength);
  frame.writeUInt32BE(bytes.byteLength, 1);
  frame.set(bytes, 5);
  return Object.assign(Readable.from([frame]), {
    method: 'POST',
    headers: { 'content-type': 'application/grpc-web+proto', ...headers },
  }) as unknown as IncomingMessage;
}

/** An HTTP response that records what was written; `writable` false models a stalled reader. */
class RecordingResponse extends EventEmitter {
  readonly writes: Uint8Array[] = [];
  readonly headers: Record<string, string> = {};
  statusCode = 0;
  headersSent = false;
  destroyed = false;
  ended: Uint8Array | undefined;
  writable = true;
  setHeader(name: string, value: string) {
    this.headers[name.toLowerCase()] = value;
  }
  writeHead(status: number) {
    this.statusCode = status;
    this.headersSent = true;
  }
  write(chunk: Uint8Array) {
    this.writes.push(chunk);
    return this.writable;
  }
  end(chunk?: Uint8Array) {
    this.ended = chunk ?? new Uint8Array();
  }
  /** The trailer frame's fields (flag 0x80), from end(). */
  trailer(): Record<string, string> {
    const data = Buffer.from(this.ended ?? []);
    expect(data[0]).toBe(0x80);
    return Object.fromEntries(
      data
        .subarray(5)
        .toString('utf8')
        .split('\r\n')
        .filter(Boolean)
        .map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim(), decodeURIComponent(line.slice(colon + 1).trim())];
        }),
    );
  }
}

const snapshot = create(WatchSessionResponseSchema, {
  cursor: 1n,
  event: { case: 'snapshot', value: {} },
});
const batch = (cursor: bigint): WatchSessionResponse =>
  create(WatchSessionResponseSchema, {
    cursor,
    event: { case: 'batch', value: { batchIdx: Number(cursor) } },
  });

const hooks = {
  onLatestDropped: () => undefined,
  onOverflow: () => undefined,
  onClosed: () => undefined,
};
const allowAll = { authorize: async () => ANONYMOUS } as unknown as Authenticator;
const turn = () => new Promise((resolve) => setImmediate(resolve));

function serve(
  watcher: Watcher | Promise<Watcher>,
  res: RecordingResponse,
  headers: Record<string, string> = {},
) {
  const metrics = { countWatchEvent: jest.fn() };
  const done = serveGrpcWebWatch(watchRequest(headers), res as unknown as ServerResponse, {
    dashboard: { watchSession: () => watcher } as unknown as DashboardService,
    metrics: metrics as unknown as MetricsService,
    authenticator: allowAll,
    // Auth off: nothing to watch for.
    credentials: { track: () => undefined } as unknown as CredentialWatch,
    maxRequestBytes: 1024,
  });
  return { done, metrics };
}

/** Two watchers of one session, each served to its own response, their snapshots written. */
async function serveTwo() {
  const watchers = [0, 1].map(() => new Watcher('s', snapshot, 10, 60_000, hooks));
  const responses = [0, 1].map(() => new RecordingResponse());
  const served = watchers.map((watcher, index) =>
    serve(watcher, responses[index] as RecordingResponse),
  );
  await turn();
  return { watchers, responses, served };
}

describe('serveGrpcWebWatch', () => {
  it('writes the one shared frame of each event to every response: nothing encoded per watcher', async () => {
    const { watchers, responses, served } = await serveTwo();
    const event = batch(2n);
    for (const watcher of watchers) watcher.pushLossless(event);
    await turn();
    for (const res of responses) {
      expect(res.statusCode).toBe(200);
      // The very same bytes object, the event's gRPC length-prefixed frame.
      expect(res.writes).toEqual([
        framedOnce(WatchSessionResponseSchema, snapshot),
        framedOnce(WatchSessionResponseSchema, event),
      ]);
      expect(res.writes[1]).toBe(framedOnce(WatchSessionResponseSchema, event));
    }
    expect(served[0]?.metrics.countWatchEvent).toHaveBeenCalledWith('grpc-web', event);
    for (const watcher of watchers) watcher.close();
    await Promise.all(served.map((s) => s.done));
    for (const res of responses) expect(res.trailer()['grpc-status']).toBe('0');
  });

  it("writes a batch's scalar event and image frame, both waiting, as one write of their joined frames shared by every response", async () => {
    const { watchers, responses, served } = await serveTwo();
    const scalars = batch(2n);
    const images = create(WatchSessionResponseSchema, {
      cursor: 2n,
      event: {
        case: 'images',
        value: { batchIdx: 2, images: [{ imageBytes: new Uint8Array(2048).fill(7) }] },
      },
    });
    for (const watcher of watchers) {
      watcher.pushLossless(scalars);
      watcher.offerLatest('images', [images]);
    }
    await turn();
    for (const watcher of watchers) watcher.close();
    await Promise.all(served.map((s) => s.done));
    const joined = Buffer.concat([
      framedOnce(WatchSessionResponseSchema, scalars),
      framedOnce(WatchSessionResponseSchema, images),
    ]);
    for (const res of responses) {
      expect(res.writes).toHaveLength(2);
      expect(Buffer.from(res.writes[1] as Uint8Array).equals(joined)).toBe(true);
    }
    // Built once: both responses were handed the very same bytes.
    expect(responses[0]?.writes[1]).toBe(responses[1]?.writes[1]);
    // Each message is still counted for /metrics.
    expect(served[0]?.metrics.countWatchEvent).toHaveBeenCalledWith('grpc-web', scalars);
    expect(served[0]?.metrics.countWatchEvent).toHaveBeenCalledWith('grpc-web', images);
  });

  it('a response that stops draining: the watcher overflows at its bound and the status names the cursor to resume from', async () => {
    const watcher = new Watcher('s', snapshot, 3, 60_000, hooks);
    const res = new RecordingResponse();
    const { done } = serve(watcher, res);
    await turn();
    res.writable = false;
    watcher.pushLossless(batch(2n));
    await turn();
    // Written, then not pulled again until 'drain': the rest waits in the bounded lane.
    expect(res.writes).toHaveLength(2);
    for (let cursor = 3n; cursor <= 6n; cursor++) watcher.pushLossless(batch(cursor));
    await done;
    expect(watcher.isClosed).toBe(true);
    expect(res.writes).toHaveLength(2);
    const trailer = res.trailer();
    expect(trailer['grpc-status']).toBe('8');
    expect(trailer['grpc-message']).toMatch(
      /more than 3 events queued; watch again with resume_cursor 2 /,
    );
  });

  it('a watch that cannot start is answered trailers-only with its status', async () => {
    const res = new RecordingResponse();
    const { done } = serve(Promise.reject(errors.notFound('session s not found')), res);
    await done;
    expect(res.statusCode).toBe(200);
    expect(res.headers['grpc-status']).toBe('5');
    expect(decodeURIComponent(res.headers['grpc-message'] ?? '')).toBe('session s not found');
    expect(res.writes).toHaveLength(0);
  });

  it("honours the client's grpc-timeout: the watch ends with DEADLINE_EXCEEDED", async () => {
    const watcher = new Watcher('s', snapshot, 10, 60_000, hooks);
    const res = new RecordingResponse();
    const { done } = serve(watcher, res, { 'grpc-timeout': '30m' });
    await done;
    expect(res.writes).toHaveLength(1);
    expect(res.trailer()['grpc-status']).toBe('4');
    expect(res.trailer()['grpc-message']).toMatch(/deadline of 30 ms/);
  });
});
