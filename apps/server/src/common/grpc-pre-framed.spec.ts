import {
  Client,
  credentials,
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  DashboardService,
  SendCommandResponseSchema,
  toGrpcServiceDefinition,
  TrainingStatus,
  type SendCommandResponse,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { writePreFramedMessages } from './grpc-pre-framed';

const STREAMS = 3;
/** An image-sized event: the bytes a per-stream copy would duplicate. */
const event = create(WatchSessionResponseSchema, {
  cursor: 7n,
  event: {
    case: 'images',
    value: {
      batchIdx: 3,
      images: Array.from({ length: 16 }, (_, i) => ({
        imageBytes: new Uint8Array(2048).fill(i),
        format: 'jpeg',
      })),
    },
  },
});
const encoded = toBinary(WatchSessionResponseSchema, event);
// The image bytes are really in it (what a copy per stream would duplicate).
if (encoded.byteLength < 16 * 2048) throw new Error(`event encodes to ${encoded.byteLength} bytes`);

/** A grpc-js server whose WatchSession writes `event` to STREAMS calls once all are open. */
async function fanOutOnce(): Promise<{ received: Uint8Array[]; frameCopies: number }> {
  const calls: ServerWritableStream<unknown, WatchSessionResponse>[] = [];
  const server = new Server();
  server.addService(toGrpcServiceDefinition(DashboardService), {
    WatchSession: (call: ServerWritableStream<unknown, WatchSessionResponse>) => {
      calls.push(call);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const clients: Client[] = [];
  const received: Uint8Array[] = [];
  // Frames the sending side allocates (the clients, in this process too, allocate on receipt).
  let frameCopies = 0;
  const allocate = Buffer.allocUnsafe.bind(Buffer);
  const allocUnsafe = jest.spyOn(Buffer, 'allocUnsafe').mockImplementation((size) => {
    if (size === encoded.byteLength + 5 && /serializeMessage/.test(new Error().stack ?? ''))
      frameCopies += 1;
    return allocate(size);
  });
  try {
    for (let i = 0; i < STREAMS; i++) {
      const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      });
      clients.push(client);
      const stream = client.makeServerStreamRequest(
        `/${DashboardService.typeName}/WatchSession`,
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        Buffer.alloc(0),
      );
      stream.on('data', (bytes: Buffer) => received.push(bytes));
      stream.on('error', () => undefined);
    }
    await waitFor(() => calls.length === STREAMS, { what: `${STREAMS} watch calls` });
    frameCopies = 0;
    for (const call of calls) call.write(event);
    await waitFor(() => received.length === STREAMS, { what: 'the event on every stream' });
    return { received, frameCopies };
  } finally {
    allocUnsafe.mockRestore();
    for (const call of calls) call.end();
    for (const client of clients) client.close();
    server.forceShutdown();
  }
}

describe('writePreFramedMessages', () => {
  it('writes one shared frame to every native stream of a fanned-out event, with no copy per stream', async () => {
    writePreFramedMessages();
    const { received, frameCopies } = await fanOutOnce();
    expect(frameCopies).toBe(0);
    // What each watcher reads is the event, whole.
    for (const bytes of received) {
      expect(Buffer.compare(bytes, encoded)).toBe(0);
      expect(fromBinary(WatchSessionResponseSchema, bytes).event).toEqual(event.event);
    }
  });

  it('still frames any other message as grpc-js does (a unary reply, encoded per call)', async () => {
    writePreFramedMessages();
    const reply = create(SendCommandResponseSchema, { status: TrainingStatus.PAUSED });
    const server = new Server();
    server.addService(toGrpcServiceDefinition(DashboardService), {
      SendCommand: (_call: unknown, callback: sendUnaryData<SendCommandResponse>) =>
        callback(null, reply),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const bytes = await new Promise<Buffer>((resolve, reject) =>
        client.makeUnaryRequest(
          `/${DashboardService.typeName}/SendCommand`,
          (request: Buffer) => request,
          (response: Buffer) => response,
          Buffer.alloc(0),
          (error, response) => (error || !response ? reject(error) : resolve(response)),
        ),
      );
      expect(fromBinary(SendCommandResponseSchema, bytes).status).toBe(TrainingStatus.PAUSED);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
