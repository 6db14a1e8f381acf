import type { Http2Server, Http2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** HTTP/2's initial flow-control window (RFC 9113 §6.9.2), what grpc-js' server leaves in place. */
export const HTTP2_DEFAULT_WINDOW_BYTES = 65_535;

/** The grpc-js internals reached here (grpc-js has no server option for receive windows). */
interface Http2ServerLookup {
  http2Servers?: Map<Http2Server, unknown>;
}

/**
 * Opens the receive window of every HTTP/2 connection and stream the gRPC
 * server accepts to `windowBytes`. A peer may only have a window's worth of
 * bytes in flight before it waits for our WINDOW_UPDATE, so a stream carries
 * at most one window per round trip (network plus both event loops): with
 * HTTP/2's 64 KB a trainer sending 16 images × 2 KB at 60 msg/s (2.1 MB/s)
 * is capped as soon as a round trip exceeds 30 ms, and its messages queue in
 * the SDK while this server sits idle. The bound on what one connection can
 * make us buffer while a stream is paused (TrainerStream stops reading) is
 * this window. Call it once the server is bound (Nest's
 * onLoadPackageDefinition); sessions accepted later get it as they open.
 */
export function widenReceiveWindows(server: Server, windowBytes: number): void {
  if (windowBytes <= HTTP2_DEFAULT_WINDOW_BYTES) return;
  const servers = (server as unknown as Http2ServerLookup).http2Servers;
  if (!(servers instanceof Map)) {
    // A grpc-js upgrade moved its internals: fail loudly rather than serve at 64 KB unnoticed.
    throw new Error(
      `GRPC_RECEIVE_WINDOW_BYTES=${windowBytes} needs grpc-js' HTTP/2 servers, which this grpc-js version does not expose`,
    );
  }
  for (const http2Server of servers.keys()) {
    // Each stream's window: SETTINGS_INITIAL_WINDOW_SIZE, sent in the server's first SETTINGS frame.
    http2Server.updateSettings({ initialWindowSize: windowBytes });
    // The connection's window, shared by its streams; SETTINGS cannot change it, a WINDOW_UPDATE does.
    http2Server.on('session', (session: Http2Session) => {
      // A connection already gone has no window to open (setLocalWindowSize would throw).
      if (!session.destroyed) session.setLocalWindowSize(windowBytes);
    });
  }
}
