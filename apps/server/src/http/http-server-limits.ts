import type { Server } from 'node:http';
import { HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS } from '../common/limits';
import type { ServerSettings } from '../config/server-config';

/**
 * Bounds what the HTTP listener may hold at once. Each connection carries
 * one request at a time and its body is capped at HTTP_MAX_REQUEST_BYTES, so
 * request bodies in memory stay under httpMaxConnections × httpMaxRequestBytes
 * (64 MiB with the defaults) however many clients try.
 */
export function limitHttpServer(server: Server, settings: ServerSettings): void {
  // Connections past the bound are closed on accept; open dashboards keep theirs.
  server.maxConnections = settings.httpMaxConnections;
  // A client must finish its headers promptly (checked every 30 s, Node's sweep interval).
  server.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
  // ...and its whole request; a long gRPC-Web response after it is not affected.
  server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
}
