/**
 * A gRPC-Web server stream read with fetch, frame by frame, handing each
 * message over as bytes (the benchmark's watchers read only the fields they
 * time; watch-scan.ts). The same requests as Connect's gRPC-Web transport in
 * binary mode: POST, `application/grpc-web+proto`, 5-byte frames, trailers
 * in a frame flagged 0x80.
 */

/** Largest frame accepted: a snapshot of a long run can be large, nothing here is bigger. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const TRAILER_FLAG = 0x80;

function frame(message: Uint8Array): Uint8Array<ArrayBuffer> {
  const framed = new Uint8Array(5 + message.length);
  new DataView(framed.buffer).setUint32(1, message.length);
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

/** Yields each message of the server stream at `url` until it ends; throws on a non-zero status. */
export async function* readGrpcWeb(
  url: string,
  request: Uint8Array,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
    body: frame(request),
    signal,
  });
  if (!response.ok || !response.body) throw new Error(`gRPC-Web HTTP ${response.status}`);
  checkStatus(
    `grpc-status: ${response.headers.get('grpc-status') ?? ''}\ngrpc-message: ${response.headers.get('grpc-message') ?? ''}`,
    'headers',
  );
  let pending: Uint8Array = new Uint8Array(0);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    pending = pending.length === 0 ? chunk : concat(pending, chunk);
    let offset = 0;
    while (pending.length - offset >= 5) {
      const view = new DataView(pending.buffer, pending.byteOffset + offset, 5);
      const flags = view.getUint8(0);
      const length = view.getUint32(1);
      if (length > MAX_FRAME_BYTES) throw new Error(`gRPC-Web frame of ${length} bytes`);
      if (pending.length - offset - 5 < length) break;
      const body = pending.subarray(offset + 5, offset + 5 + length);
      offset += 5 + length;
      if (flags & TRAILER_FLAG) checkStatus(new TextDecoder().decode(body), 'trailers');
      else yield body;
    }
    pending = pending.subarray(offset);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
