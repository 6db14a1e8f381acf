import { Agent, request as httpRequest } from 'node:http';

/**
 * A gRPC-Web server stream read with node:http, frame by frame, handing each
 * message over as bytes (the benchmark's watchers read only the fields they
 * time; watch-scan.ts). The same requests as Connect's gRPC-Web transport in
 * binary mode: POST, `application/grpc-web+proto`, 5-byte frames, trailers
 * in a frame flagged 0x80.
 *
 * node:http, not fetch: a hundred dashboards are a hundred browser processes,
 * but the benchmark holds its watchers in one Node process, where fetch's
 * undici and web-stream adapters were the largest share of a CPU profile of
 * 100 watchers (the process idle 28% of the time; 52% with node:http). Five
 * paired runs of 100 gRPC-Web watchers, same server: the watchers' process
 * took a median 83% of a core with fetch and 66% with this, and the end-to-end
 * p99 went from 112 to 61 ms: the reader, not the server, had been delaying
 * the events it timed.
 */

/** Largest frame accepted: a snapshot of a long run can be large, nothing here is bigger. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const TRAILER_FLAG = 0x80;

/** One connection per stream, as a browser's HTTP/1.1 streams each hold one; no pool limit. */
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

function frame(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** Throws when a trailers frame (or the response headers) carry a gRPC status other than 0. */
function checkStatus(text: string, from: string): void {
  const status = /grpc-status:\s*(\d+)/i.exec(text)?.[1];
  if (status !== undefined && status !== '0') {
    const message = /grpc-message:\s*([^\r\n]*)/i.exec(text)?.[1] ?? '';
    throw new Error(`gRPC-Web ${from}: status ${status} ${decodeURIComponent(message)}`);
  }
}

/**
 * Splits a byte stream into gRPC-Web frames. A message wholly inside one chunk
 * is handed over as a view of it; only a frame cut across chunks is copied.
 */
class FrameReader {
  private pending: Buffer | undefined;

  constructor(
    private readonly onMessage: (message: Uint8Array) => void,
    private readonly onTrailers: (text: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let bytes = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let offset = 0;
    while (bytes.length - offset >= 5) {
      const flags = bytes[offset] as number;
      const length = bytes.readUInt32BE(offset + 1);
      if (length > MAX_FRAME_BYTES) throw new Error(`gRPC-Web frame of ${length} bytes`);
      if (bytes.length - offset - 5 < length) break;
      const body = bytes.subarray(offset + 5, offset + 5 + length);
      offset += 5 + length;
      if (flags & TRAILER_FLAG) this.onTrailers(body.toString('utf8'));
      else this.onMessage(body);
    }
    if (offset < bytes.length) {
      bytes = bytes.subarray(offset);
      // A short remainder is copied so the chunk it came from can be freed.
      this.pending = bytes.length < 4096 ? Buffer.from(bytes) : bytes;
    }
  }
}

/**
 * Calls `onMessage` with each message of the server stream at `url`; resolves
 * when it ends, rejects on a non-zero status, a broken connection or `signal`.
 */
export function readGrpcWeb(
  url: string,
  request: Uint8Array,
  signal: AbortSignal,
  onMessage: (message: Uint8Array) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = frame(request);
    const req = httpRequest(url, {
      method: 'POST',
      agent,
      signal,
      headers: {
        'content-type': 'application/grpc-web+proto',
        'x-grpc-web': '1',
        'content-length': body.length,
      },
    });
    const fail = (error: unknown) => {
      req.destroy();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    req.on('error', fail);
    req.on('response', (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        return fail(new Error(`gRPC-Web HTTP ${response.statusCode}`));
      }
      const header = (name: string) => String(response.headers[name] ?? '');
      try {
        checkStatus(
          `grpc-status: ${header('grpc-status')}\ngrpc-message: ${header('grpc-message')}`,
          'headers',
        );
      } catch (error) {
        return fail(error);
      }
      const frames = new FrameReader(onMessage, (text) => checkStatus(text, 'trailers'));
      response.on('data', (chunk: Buffer) => {
        try {
          frames.push(chunk);
        } catch (error) {
          fail(error);
        }
      });
      response.on('end', () => resolve());
      response.on('error', fail);
    });
    req.end(body);
  });
}
