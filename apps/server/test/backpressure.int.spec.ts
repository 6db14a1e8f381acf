import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import * as grpc from '@grpc/grpc-js';
import {
  DashboardService,
  WatchSessionRequestSchema,
  WatchSessionResponseSchema,
  type WatchSessionRequest,
  type WatchSessionResponse,
  WATCH_EVENT_DELIVERY,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { encode } from 'jpeg-js';
import { FanOutService } from '../src/fan-out/fan-out.service';
import { MetricsService } from '../src/metrics/metrics.service';
import {
  grpcDashboard,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';

/** A noisy JPEG (noise compresses badly, so frames are large enough to fill flow-control windows). */
function noisyJpeg(side: number, seed: number): Uint8Array {
  // ~10 KB at 96 px: sixteen of them make a ~160 KB message.
  const data = Buffer.alloc(side * side * 4);
  let state = seed;
  for (let index = 0; index < data.length; index++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    data[index] = state & 0xff;
  }
  return new Uint8Array(encode({ data, width: side, height: side }, 90).data);
}

/** A raw grpc-js watch whose reading the test controls (pause = a slow dashboard). */
function rawWatch(address: string, sessionId: string) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const call = client.makeServerStreamRequest(
    '/telemetry.v1.DashboardService/WatchSession',
    (request: WatchSessionRequest) => Buffer.from(toBinary(WatchSessionRequestSchema, request)),
    (bytes: Buffer) => bytes,
    create(WatchSessionRequestSchema, { sessionId }),
  );
  return { client, call };
}

function eventCounts(events: WatchSessionResponse[]) {
  return {
    batches: events.flatMap((event) => (event.event.case === 'batch' ? [event] : [])),
    images: events.flatMap((event) => (event.event.case === 'images' ? [event.event.value] : [])),
  };
}

describe('fan-out under a slow watcher', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;

  afterEach(async () => {
    telemetry.close();
    await server.shutdown();
  });

  it('16 images at 60 msg/s: the slow watcher stays within its bound, images conflate, scalars complete; a fast watcher keeps up', async () => {
    const queueBound = 500;
    server = await startTestServer({ WATCHER_QUEUE_SIZE: String(queueBound) });
    telemetry = telemetryClient(server.grpcAddress);
    const id = 'slow-and-fast';
    const batches = 180;
    // One epoch long enough for every batch sent: positions past the run's shape are refused.
    await register(telemetry, {
      sessionId: id,
      config: { totalEpochs: 1, batchesPerEpoch: batches + 1, batchSize: 32 },
    });
    const trainer = new TrainerStreamClient(telemetry, id);
    trainer.batch(1n, 0, 0);
    await trainer.waitForAck(1n);

    const fast = grpcDashboard(server.grpcAddress).watch(id);
    const slow = rawWatch(server.grpcAddress, id);
    const slowEvents: WatchSessionResponse[] = [];
    slow.call.on('data', (bytes: Buffer) =>
      slowEvents.push(fromBinary(WatchSessionResponseSchema, bytes)),
    );
    slow.call.on('error', () => undefined);
    await waitFor(() => slowEvents.length > 0 && fast.events.length > 0, {
      what: 'both snapshots',
    });
    slow.call.pause();

    const distinct = [1, 2, 3, 4].map((seed) => noisyJpeg(96, seed));
    const images = Array.from({ length: 16 }, (_, index) => ({
      imageBytes: distinct[index % distinct.length],
      format: 'jpeg',
      width: 96,
      height: 96,
      channels: 3,
    }));
    const fanOut = server.app.get(FanOutService);
    let peakQueued = 0;
    // 60 messages a second, paced by a timer like a real training loop.
    await new Promise<void>((resolve) => {
      let sent = 0;
      const timer = setInterval(() => {
        sent += 1;
        trainer.batch(BigInt(sent + 1), 0, sent, {
          images,
          predictions: images.map(() => ({ predictedClass: 1, confidence: 0.5 })),
          groundTruth: images.map(() => 1),
        });
        for (const watcher of fanOut.watchersOf(id))
          peakQueued = Math.max(peakQueued, watcher.queuedScalars);
        if (sent === batches) {
          clearInterval(timer);
          resolve();
        }
      }, 1000 / 60);
    });
    await trainer.waitForAck(BigInt(batches + 1), 15_000);

    // The fast watcher has every batch while the slow one is still not reading.
    await waitFor(() => eventCounts(fast.events).batches.length === batches, {
      what: 'fast watcher to have every batch',
      timeoutMs: 15_000,
    });
    expect(fast.error).toBeUndefined();
    // The newest image frame follows the last batch event it belongs to.
    await waitFor(() => eventCounts(fast.events).images.at(-1)?.batchIdx === batches, {
      what: 'latest frame at the fast watcher',
    });

    const watchers = fanOut.watchersOf(id);
    expect(watchers).toHaveLength(2);
    for (const watcher of watchers)
      expect(watcher.peakQueuedScalars).toBeLessThanOrEqual(queueBound);
    expect(peakQueued).toBeLessThanOrEqual(queueBound);
    const slowReceivedSoFar = eventCounts(slowEvents).batches.length;
    expect(slowReceivedSoFar).toBeLessThan(batches);

    slow.call.resume();
    await waitFor(() => eventCounts(slowEvents).batches.length === batches, {
      what: 'slow watcher to catch up',
      timeoutMs: 15_000,
    });
    const slowCounts = eventCounts(slowEvents);
    // Scalars: complete and in order with consecutive cursors.
    expect(
      slowCounts.batches.map((event) =>
        event.event.case === 'batch' ? event.event.value.batchIdx : -1,
      ),
    ).toEqual(Array.from({ length: batches }, (_, index) => index + 1));
    // Every lossless event advances the cursor (a batch with predictions also brings its
    // confusion-matrix increment): together they are consecutive, with no gap.
    const cursors = slowEvents
      .filter(
        (event) =>
          event.event.case !== undefined &&
          event.event.case !== 'snapshot' &&
          WATCH_EVENT_DELIVERY[event.event.case] === 'lossless',
      )
      .map((event) => event.cursor);
    expect(cursors.length).toBeGreaterThanOrEqual(batches);
    expect(cursors).toEqual(cursors.map((_, index) => (cursors[0] as bigint) + BigInt(index)));
    // Images: conflated (latest wins), and the newest frame still arrives.
    await waitFor(() => eventCounts(slowEvents).images.at(-1)?.batchIdx === batches, {
      what: 'latest frame at the slow watcher',
    });
    expect(eventCounts(slowEvents).images.length).toBeLessThan(batches / 2);
    expect(server.app.get(MetricsService).droppedImageFrames).toBeGreaterThan(0);
    // Image frames never run ahead of the scalar events they follow.
    let lastCursor = 0n;
    for (const event of slowEvents) {
      expect(event.cursor).toBeGreaterThanOrEqual(lastCursor);
      lastCursor = event.cursor;
    }

    fast.cancel();
    slow.call.cancel();
    slow.client.close();
    trainer.end();
  }, 60_000);

  it('overflow closes that watcher with RESOURCE_EXHAUSTED; it can watch again and refill from the snapshot', async () => {
    const queueBound = 50;
    server = await startTestServer({ WATCHER_QUEUE_SIZE: String(queueBound) });
    telemetry = telemetryClient(server.grpcAddress);
    const id = 'overflow';
    await register(telemetry, { sessionId: id });
    const trainer = new TrainerStreamClient(telemetry, id);
    trainer.batch(1n, 0, 0);
    await trainer.waitForAck(1n);
    const slow = rawWatch(server.grpcAddress, id);
    let slowStatus: grpc.StatusObject | undefined;
    slow.call.on('status', (status: grpc.StatusObject) => (slowStatus = status));
    slow.call.on('error', () => undefined);
    slow.call.on('data', () => undefined);
    await waitFor(() => server.app.get(FanOutService).watchersOf(id).length === 1, {
      what: 'watcher registered',
    });
    slow.call.pause();

    // Big enough events to fill the transport's buffers, so the server's own queue has to take the rest.
    const padding = 'p'.repeat(20_000);
    for (let index = 1; index <= 400; index++) {
      trainer.send(BigInt(index + 1), {
        case: 'statusUpdate',
        value: { status: 2, message: `${index} ${padding}` },
      });
    }
    await trainer.waitForAck(401n, 15_000);
    await waitFor(() => server.app.get(FanOutService).watchersOf(id).length === 0, {
      what: 'slow watcher closed',
    });
    expect(server.app.get(MetricsService).watcherOverflows).toBe(1);
    slow.call.resume();
    const status = await waitFor(() => slowStatus, { what: 'slow watcher status' });
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toMatch(/fell behind: more than 50 events queued/);

    const again = grpcDashboard(server.grpcAddress);
    const watch = again.watch(id);
    const snapshot = await waitFor(() => watch.events[0], { what: 'snapshot after re-watch' });
    if (snapshot.event.case !== 'snapshot') throw new Error('first event must be the snapshot');
    expect(snapshot.event.value.session?.statusMessage.startsWith('400 ')).toBe(true);
    expect(snapshot.event.value.session?.batchesReceived).toBe(1n);
    watch.cancel();
    again.close();
    slow.client.close();
    trainer.end();
  }, 60_000);

  it('over gRPC-Web too: a stream that is not being pulled overflows its bound and closes with RESOURCE_EXHAUSTED', async () => {
    server = await startTestServer({ WATCHER_QUEUE_SIZE: '50' });
    telemetry = telemetryClient(server.grpcAddress);
    const id = 'web-overflow';
    await register(telemetry, { sessionId: id });
    const trainer = new TrainerStreamClient(telemetry, id);
    const client = createClient(
      DashboardService,
      createGrpcWebTransport({ baseUrl: server.httpUrl }),
    );
    const events = client.watchSession({ sessionId: id })[Symbol.asyncIterator]();
    expect((await events.next()).value?.event.case).toBe('snapshot');

    // Stop pulling: socket buffers fill (their size depends on the kernel), then the server's
    // bounded queue, then it overflows. Send in rounds until it does, with a cap.
    const padding = 'p'.repeat(30_000);
    const fanOut = server.app.get(FanOutService);
    const [watcher] = fanOut.watchersOf(id);
    let sequence = 0n;
    while (fanOut.watchersOf(id).length > 0 && sequence < 4000n) {
      for (let index = 0; index < 100; index++) {
        sequence += 1n;
        trainer.send(sequence, {
          case: 'statusUpdate',
          value: { status: 2, message: `${sequence} ${padding}` },
        });
      }
      await trainer.waitForAck(sequence, 20_000);
    }
    expect(fanOut.watchersOf(id)).toHaveLength(0);
    expect(watcher?.peakQueuedScalars).toBe(50);
    const failure = await (async () => {
      try {
        for (let result = await events.next(); !result.done; result = await events.next());
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as ConnectError).code).toBe(Code.ResourceExhausted);
    trainer.end();
  }, 60_000);
});
