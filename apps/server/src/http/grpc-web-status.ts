import type { ServerResponse } from 'node:http';
import type { ConnectError } from '@connectrpc/connect';

/**
 * Answers a gRPC-Web call with an error before any handler runs, as a
 * trailers-only response: HTTP 200 with grpc-status and grpc-message in the
 * headers (gRPC-Web clients, Connect's included, read the status there when
 * the body is empty). grpc-message is percent-encoded as the protocol asks.
 */
export function sendGrpcWebError(res: ServerResponse, error: ConnectError): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/grpc-web+proto');
  res.setHeader('grpc-status', String(error.code));
  res.setHeader('grpc-message', encodeURIComponent(error.rawMessage));
  res.end();
}
