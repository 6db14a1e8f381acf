import { request, type IncomingHttpHeaders } from 'node:http';

/** What a raw POST got back, and how long it took. */
export interface RawPostResult {
  /** HTTP status, or undefined when the connection failed before a response. */
  status: number | undefined;
  headers: IncomingHttpHeaders;
  /** grpc-status from the headers (trailers-only) or from the gRPC-Web trailer frame. */
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  body: Buffer;
  /** Bytes of the body written before the response arrived. */
  bytesSent: number;
  elapsedMs: number;
  /** Set when the socket failed (reset, refused) before a full response. */
  error: Error | undefined;
}

export interface RawPostOptions {
  url: string;
  path: string;
  /** Body bytes the client would send in total; written lazily, never allocated whole. */
  totalBytes: number;
  /** Declare totalBytes as Content-Length; otherwise the body is chunked. */
  contentLength: boolean;
  /** gRPC-Web envelope length to put in the first five bytes (omit for a non-gRPC body). */
  envelopeLength?: number;
  contentType?: string;
  /** Size of each write; one buffer is reused for every write. */
  chunkBytes?: number;
}

/** Decodes a gRPC-Web trailer frame (flag 0x80) at the end of a response body, if any. */
function trailerFrame(body: Buffer): Record<string, string> {
  for (let offset = 0; offset + 5 <= body.length;) {
    const flags = body[offset] ?? 0;
    const length = body.readUInt32BE(offset + 1);
    const data = body.subarray(offset + 5, offset + 5 + length);
    if ((flags & 0x80) !== 0) {
      const fields: Record<string, string> = {};
      for (const line of data.toString('utf8').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0)
          fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      return fields;
    }
    offset += 5 + length;
  }
  return {};
}

/**
 * POSTs a large body over a real socket, streaming one reused chunk so the
 * client never holds the body, and stops writing as soon as the server
 * answers (as a browser does). Resolves when the response has ended or the
 * connection failed.
 */
export function rawPost(options: RawPostOptions): Promise<RawPostResult> {
  const chunk = Buffer.alloc(options.chunkBytes ?? 64 * 1024);
  const started = Date.now();
  const target = new URL(options.path, options.url);
  return new Promise((resolve) => {
    let bytesSent = 0;
    let answered = false;
    const result = (fields: Partial<RawPostResult>): RawPostResult => ({
      status: undefined,
      headers: {},
      grpcStatus: undefined,
      grpcMessage: undefined,
      body: Buffer.alloc(0),
      bytesSent,
      elapsedMs: Date.now() - started,
      error: undefined,
      ...fields,
    });
    const req = request(target, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': options.contentType ?? 'application/grpc-web+proto',
        'x-grpc-web': '1',
        ...(options.contentLength
          ? { 'content-length': String(options.totalBytes) }
          : { 'transfer-encoding': 'chunked' }),
      },
    });
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      const finish = (error?: Error) => {
        const body = Buffer.concat(parts);
        const trailer = trailerFrame(body);
        const header = (name: string) => {
          const value = res.headers[name];
          return Array.isArray(value) ? value[0] : value;
        };
        resolve(
          result({
            status: res.statusCode,
            headers: res.headers,
            grpcStatus: header('grpc-status') ?? trailer['grpc-status'],
            grpcMessage: decodeURIComponent(
              header('grpc-message') ?? trailer['grpc-message'] ?? '',
            ),
            body,
            error,
          }),
        );
        req.destroy();
      };
      res.on('end', () => finish());
      res.on('error', (error) => finish(error));
    });
    req.on('error', (error) => {
      if (!answered) resolve(result({ error }));
    });
    const writeMore = () => {
      while (!answered && !req.destroyed && bytesSent < options.totalBytes) {
        let part = chunk.subarray(0, Math.min(chunk.length, options.totalBytes - bytesSent));
        if (bytesSent === 0 && options.envelopeLength !== undefined) {
          part = Buffer.from(part);
          part[0] = 0;
          part.writeUInt32BE(options.envelopeLength, 1);
        }
        bytesSent += part.length;
        if (!req.write(part)) {
          req.once('drain', writeMore);
          return;
        }
      }
      if (!answered && !req.destroyed && bytesSent >= options.totalBytes) req.end();
    };
    writeMore();
  });
}
