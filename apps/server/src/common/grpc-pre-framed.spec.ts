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
import { framedTogether, writePreFramedMessages } from './grpc-pre-framed';

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

/** The scalar event of the same batch, written before its image frame. */
const scalars = create(WatchSessionResponseSchema, {
  cursor: 7n,
  event: { case: 'batch', value: { batchIdx: 3, batchLoss: 0.5 } },
});

/**
 * A grpc-js server whose WatchSession writes what `writes` gives each of
 * STREAMS calls once all are open; resolves when `expected` messages arrived.
 */
async function fanOutOnce(
  writes: (call: ServerWritableStream<unknown, WatchSessionResponse>) => void = (call) =>
    call.write(event),
  expected = STREAMS,
): Promise<{ received: Uint8Array[][]; frameCopies: number }> {
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
  const received: Uint8Array[][] = [];
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
      const messages: Uint8Array[] = [];
      received.push(messages);
      stream.on('data', (bytes: Buffer) => messages.push(bytes));
      stream.on('error', () => undefined);
    }
    await waitFor(() => calls.length === STREAMS, { what: `${STREAMS} watch calls` });
    frameCopies = 0;
    for (const call of calls) writes(call);
    await waitFor(() => received.flat().length === expected, {
      what: 'the events on every stream',
    });
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
    expect(received.map((messages) => messages.length)).toEqual([1, 1, 1]);
    for (const bytes of received.flat()) {
      expect(Buffer.compare(bytes, encoded)).toBe(0);
      expect(fromBinary(WatchSessionResponseSchema, bytes).event).toEqual(event.event);
    }
  });

  it('writes two events joined by framedTogether as one write that every stream reads as both, in order', async () => {
    writePreFramedMessages();
    const limit = 1024 * 1024;
    const together = framedTogether(scalars, event, limit);
    // One joined buffer for every stream writing the same two.
    expect(together).toBeDefined();
    expect(framedTogether(scalars, event, limit)).toBe(together);
    const written: number[] = [];
    const { received } = await fanOutOnce((call) => {
      // Each stream's writes as the socket sees them: one per call.write here.
      const stream = (
        call as unknown as { call: { stream: { write: (...a: unknown[]) => boolean } } }
      ).call.stream;
      const write = stream.write.bind(stream);
      stream.write = (...args: unknown[]) => {
        written.push((args[0] as Buffer).byteLength);
        return write(...args);
      };
      call.write(together as unknown as WatchSessionResponse);
    }, 2 * STREAMS);
    expect(written).toEqual(
      Array(STREAMS).fill(
        encoded.byteLength + 5 + toBinary(WatchSessionResponseSchema, scalars).byteLength + 5,
      ),
    );
    for (const messages of received) {
      expect(messages.map((bytes) => fromBinary(WatchSessionResponseSchema, bytes).event)).toEqual([
        scalars.event,
        event.event,
      ]);
    }
  });

  it('does not join two events over the bound on one write', () => {
    const both = encoded.byteLength + toBinary(WatchSessionResponseSchema, scalars).byteLength + 5;
    expect(framedTogether(scalars, event, both - 1)).toBeUndefined();
    expect(framedTogether(scalars, event, both)).toBeDefined();
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
