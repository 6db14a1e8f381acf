import { WATCH_EVENT_DELIVERY, type WatchSessionResponse } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { FanOutService } from '../src/fan-out/fan-out.service';
import {
  grpcWebDashboard,
  makeJpeg,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
  type WatchHandle,
} from './harness';
import { rawGrpcWebWatch } from './raw-grpc-web-watch';

/** Cursors of the lossless events after the snapshot (batches, statuses, confusion counts...). */
function losslessCursors(events: readonly WatchSessionResponse[]): bigint[] {
  return events
    .filter(
      (event) =>
        event.event.case !== undefined &&
        event.event.case !== 'snapshot' &&
        WATCH_EVENT_DELIVERY[event.event.case] === 'lossless',
    )
    .map((event) => event.cursor);
}

const batchIndexes = (handle: WatchHandle) =>
  handle.events.flatMap((event) =>
    event.event.case === 'batch' ? [event.event.value.batchIdx] : [],
  );

const statusNumbers = (events: readonly WatchSessionResponse[]) =>
  events.flatMap((event) =>
    event.event.case === 'status' ? [Number(event.event.value.message.split(' ', 1)[0])] : [],
  );

describe('gRPC-Web fan-out (pre-framed event bytes)', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;

  afterEach(async () => {
    telemetry.close();
    await server.shutdown();
  });

  it('60 gRPC-Web watchers each receive every scalar event in order, and the newest image frame', async () => {
    server = await startTestServer();
    telemetry = telemetryClient(server.grpcAddress);
    const id = 'wall-of-browsers';
    const batches = 120;
    await register(telemetry, {
      sessionId: id,
      config: {
        totalEpochs: 1,
        batchesPerEpoch: batches + 1,
        batchSize: 32,
        classNames: ['a', 'b'],
      },
    });
    const trainer = new TrainerStreamClient(telemetry, id);
    const dashboard = grpcWebDashboard(server.httpUrl);
    const watchers = Array.from({ length: 60 }, () => dashboard.watch(id));
    await waitFor(() => watchers.every((watch) => watch.events[0]?.event.case === 'snapshot'), {
      what: '60 snapshots',
      timeoutMs: 20_000,
    });

    const jpeg = makeJpeg(32, 32);
    const images = Array.from({ length: 16 }, () => ({
      imageBytes: jpeg,
      format: 'jpeg',
      width: 32,
      height: 32,
      channels: 3,
    }));
    // 60 batches a second with 16 images each, paced like a training loop.
    await new Promise<void>((resolve) => {
      let sent = 0;
      const timer = setInterval(() => {
        sent += 1;
        trainer.batch(BigInt(sent), 0, sent, {
          images,
          predictions: images.map(() => ({ predictedClass: 1, confidence: 0.5 })),
          groundTruth: images.map(() => 1),
        });
        if (sent === batches) {
          clearInterval(timer);
          resolve();
        }
      }, 1000 / 60);
    });
    await trainer.waitForAck(BigInt(batches), 15_000);

    const every = Array.from({ length: batches }, (_, index) => index + 1);
    await waitFor(() => watchers.every((watch) => batchIndexes(watch).length === batches), {
      what: 'every watcher to have every batch',
      timeoutMs: 20_000,
    });
    for (const watch of watchers) {
      expect(watch.error).toBeUndefined();
      expect(batchIndexes(watch)).toEqual(every);
      // Every lossless event, batches and confusion counts alike, with consecutive cursors.
      const cursors = losslessCursors(watch.events);
      expect(cursors).toEqual(cursors.map((_, index) => (cursors[0] as bigint) + BigInt(index)));
    }
    await waitFor(
      () =>
        watchers.every((watch) => {
          const last = watch.events.findLast((event) => event.event.case === 'images');
          return last?.event.case === 'images' && last.event.value.batchIdx === batches;
        }),
      { what: 'the newest image frame at every watcher' },
    );
    for (const watch of watchers) watch.cancel();
    trainer.end();
  }, 90_000);

  it('a stalled gRPC-Web watcher is closed at its bound with the cursor to resume from; the others keep every event', async () => {
    const queueBound = 50;
    server = await startTestServer({ WATCHER_QUEUE_SIZE: String(queueBound) });
    telemetry = telemetryClient(server.grpcAddress);
    const id = 'stalled-tab';
    await register(telemetry, { sessionId: id });
    const trainer = new TrainerStreamClient(telemetry, id);
    const fanOut = server.app.get(FanOutService);

    const stalled = rawGrpcWebWatch(server.httpUrl, id);
    await waitFor(() => stalled.events[0]?.event.case === 'snapshot', { what: 'stalled snapshot' });
    const [stalledWatcher] = fanOut.watchersOf(id);
    stalled.pause();
    const dashboard = grpcWebDashboard(server.httpUrl);
    const others = Array.from({ length: 3 }, () => dashboard.watch(id));
    await waitFor(() => others.every((watch) => watch.events.length > 0), {
      what: 'the other snapshots',
    });

    // Big events fill the socket buffers (their size depends on the kernel), then the
    // server's bounded queue; send in rounds until the stalled watcher is closed, with a cap.
    const padding = 'p'.repeat(30_000);
    let sequence = 0n;
    while (fanOut.watchersOf(id).includes(stalledWatcher as never) && sequence < 4000n) {
      for (let index = 0; index < 100; index++) {
        sequence += 1n;
        trainer.send(sequence, {
          case: 'statusUpdate',
          value: { status: 2, message: `${sequence} ${padding}` },
        });
      }
      await trainer.waitForAck(sequence, 20_000);
    }
    expect(fanOut.watchersOf(id)).not.toContain(stalledWatcher);
    expect(stalledWatcher?.peakQueuedScalars).toBe(queueBound);
    // The others were never held back: each has every status, in order.
    const sent = Array.from({ length: Number(sequence) }, (_, index) => index + 1);
    await waitFor(
      () => others.every((watch) => statusNumbers(watch.events).length === sent.length),
      {
        what: 'the other watchers to have every status',
        timeoutMs: 30_000,
      },
    );
    for (const watch of others) {
      expect(watch.error).toBeUndefined();
      expect(statusNumbers(watch.events)).toEqual(sent);
    }
    expect(fanOut.watchersOf(id)).toHaveLength(3);

    // Reading again, the stalled tab gets what was written before the close, then the status.
    stalled.resume();
    const trailer = await waitFor(() => stalled.trailer, {
      what: 'the stalled watch to end',
      timeoutMs: 20_000,
    });
    expect(trailer['grpc-status']).toBe('8');
    expect(trailer['grpc-message']).toMatch(
      /fell behind: more than 50 events queued; watch again with resume_cursor \d+/,
    );
    const resumeFrom = BigInt(/resume_cursor (\d+)/.exec(trailer['grpc-message'] ?? '')?.[1] ?? -1);
    // The cursor named is the last one this client received: resuming there loses nothing.
    expect(resumeFrom).toBe(losslessCursors(stalled.events).at(-1));
    expect(statusNumbers(stalled.events).length).toBeLessThan(sent.length);
    for (const watch of others) watch.cancel();
    trainer.end();
  }, 120_000);
});
