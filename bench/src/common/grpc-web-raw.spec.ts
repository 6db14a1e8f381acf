import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readGrpcWeb } from './grpc-web-raw';

const frame = (flags: number, body: Uint8Array) => {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt8(flags, 0);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
};

/** A gRPC-Web server stream over real HTTP: the given frames, written in pieces that cut frames apart. */
async function serve(frames: Buffer, onRequest: (body: Buffer) => void): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      onRequest(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/grpc-web+proto' });
      // 7-byte pieces: headers and bodies of frames arrive split across chunks.
      const write = (offset: number) => {
        if (offset >= frames.length) return res.end();
        res.write(frames.subarray(offset, offset + 7), () => write(offset + 7));
      };
      write(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function readAll(server: Server, request: Uint8Array): Promise<number[][]> {
  const { port } = server.address() as AddressInfo;
  const messages: number[][] = [];
  await readGrpcWeb(`http://127.0.0.1:${port}/s/M`, request, new AbortController().signal, (m) =>
    messages.push([...m]),
  );
  return messages;
}

describe('readGrpcWeb', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('sends one framed request and hands over each message of the stream, however the bytes arrive', async () => {
    let received: Buffer | undefined;
    server = await serve(
      Buffer.concat([
        frame(0, new Uint8Array([1, 2, 3])),
        frame(0, new Uint8Array(0)),
        frame(0, new Uint8Array(300).fill(9)),
        frame(0, new Uint8Array(6000).fill(4)),
        frame(0x80, Buffer.from('grpc-status: 0\r\ngrpc-message: \r\n')),
      ]),
      (body) => (received = body),
    );
    const messages = await readAll(server, new Uint8Array([7, 8]));
    expect(received).toEqual(frame(0, new Uint8Array([7, 8])));
    expect(messages).toEqual([[1, 2, 3], [], new Array(300).fill(9), new Array(6000).fill(4)]);
  });

  it('throws with the status and message of failed trailers', async () => {
    server = await serve(
      Buffer.concat([
        frame(0, new Uint8Array([1])),
        frame(0x80, Buffer.from('grpc-status: 5\r\ngrpc-message: no%20such%20session\r\n')),
      ]),
      () => undefined,
    );
    await expect(readAll(server, new Uint8Array(0))).rejects.toThrow(
      'gRPC-Web trailers: status 5 no such session',
    );
  });

  it('rejects a response that is not HTTP 200', async () => {
    server = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    await expect(readAll(server, new Uint8Array(0))).rejects.toThrow('gRPC-Web HTTP 503');
  });
});
