import type { IncomingMessage } from 'node:http';
import { errors, type AppError } from '../common/app-error';
import type { Middleware } from './grpc-web';

/** The setting that bounds request bodies, named in every rejection. */
const SETTING = 'HTTP_MAX_REQUEST_BYTES';

/** The body size a request declares in Content-Length, if it declares one. */
export function declaredBodyBytes(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const bytes = Number(header);
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined;
}

/** RESOURCE_EXHAUSTED naming the size (when known) and the bound. */
export function bodyTooLarge(maxBytes: number, bodyBytes?: number): AppError {
  const size = bodyBytes === undefined ? 'request body' : `request body of ${bodyBytes} bytes`;
  return errors.resourceExhausted(`${size} is over the limit of ${maxBytes} bytes (${SETTING})`);
}

/**
 * The request body as chunks, failing with {@link bodyTooLarge} as soon as
 * more than `maxBytes` have arrived, so a chunked body (no Content-Length)
 * is cut off at the bound instead of buffered whole. Stopping early leaves
 * the rest of the body unread rather than destroying the request, so the
 * error can still be answered on it; `onOverflow` runs first.
 */
export async function* limitedBody(
  req: IncomingMessage,
  maxBytes: number,
  onOverflow: () => void,
): AsyncGenerator<Uint8Array> {
  let received = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) {
      onOverflow();
      throw bodyTooLarge(maxBytes);
    }
    yield chunk;
  }
}

/**
 * 413 for any request whose Content-Length is over `maxBytes`, before a
 * byte of the body is read. Mounted after gRPC-Web (which answers its own
 * requests in its protocol); no other route reads a body, and Node discards
 * unread ones, so the declared size is all there is to check here.
 */
export function rejectOversizedBodies(maxBytes: number): Middleware {
  return (req, res, next) => {
    const declared = declaredBodyBytes(req);
    if (declared === undefined || declared <= maxBytes) {
      next();
      return;
    }
    res.statusCode = 413;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    // Close instead of draining the body the client is still sending.
    res.setHeader('Connection', 'close');
    res.end(`${bodyTooLarge(maxBytes, declared).message}\n`);
  };
}
