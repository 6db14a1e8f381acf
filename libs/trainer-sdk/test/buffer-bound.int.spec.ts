import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { encodeJpeg, TrainingSession, type ImageData, type SessionError } from '../src';
import { DashboardClient } from './dashboard-client';

setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

/** Collects garbage, letting V8 finish freeing ArrayBuffer memory (swept concurrently) before measuring. */
async function settledArrayBufferBytes(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    fullGc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().arrayBuffers;
}

/** 16 fresh noisy 32x32 JPEGs (noise keeps them ~2-3 KB each, like real thumbnails). */
function freshImages(seed: number): ImageData[] {
  return Array.from({ length: 16 }, (_, k) => {
    const data = new Uint8Array(32 * 32 * 3);
    let state = seed * 16 + k + 1;
    for (let i = 0; i < data.length; i++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      data[i] = state & 0xff;
    }
    return encodeJpeg({ width: 32, height: 32, channels: 3, data });
  });
}

describe('server down for a while', () => {
  let server: ServerProcess;
  let dashboard: DashboardClient;

  beforeAll(async () => {
    // A server that keeps nothing across its restart (STORE_ENGINE=memory): how the SDK copes when
    // the server lost its state. The durable path is the store's own kill -9 test.
    server = await startServerProcess({ env: { STORE_ENGINE: 'memory' } });
    dashboard = new DashboardClient(server.grpcAddress);
  });

  afterAll(async () => {
    dashboard.close();
    await server.stop();
  });

  it('stays within the bound: images dropped oldest first, every scalar kept and delivered on return', async () => {
    const bound = 40;
    const errors: SessionError[] = [];
    const session = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId: 'outage',
      config: { totalEpochs: 1, batchesPerEpoch: 30, batchSize: 16 },
      bufferSize: bound,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      performanceEveryBatches: 1_000_000, // no performance samples: count only batches here
      onError: (error) => errors.push(error),
    });
    session.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    expect(await session.flush(5000)).toBe(true);
    await server.kill();
    await waitFor(() => !session.stats().connected, { what: 'the SDK to notice the outage' });

    const images = freshImages(1);
    for (let i = 1; i < 30; i++) {
      session.logBatch({
        epoch: 0,
        batchIdx: i,
        loss: 1 / i,
        images,
        groundTruth: images.map(() => 1),
      });
      const stats = session.stats();
      expect(stats.bufferSlots).toBeLessThanOrEqual(bound);
    }
    const down = session.stats();
    // 29 batches need 29 slots plus 29 for images; 40 slots leave room for 11 image frames.
    expect(down).toMatchObject({
      buffered: 29,
      bufferedImageFrames: 11,
      droppedImageFrames: 18,
      droppedMessages: 0,
    });
    expect(down.bufferedImageBytes).toBe(
      11 * images.reduce((n, image) => n + image.imageBytes.byteLength, 0),
    );
    const dropReports = errors.filter((e) => e.kind === 'dropped');
    expect(dropReports).toHaveLength(1);
    expect(dropReports[0]?.message).toMatch(
      /dropping images, oldest first, from batch 0\/1 on; losses are kept/,
    );

    await server.start();
    dashboard.close();
    dashboard = new DashboardClient(server.grpcAddress);
    expect(await session.flush(10_000)).toBe(true);
    await session.close();
    const summary = await dashboard.session('outage');
    // The restarted server never saw batch 0 (acknowledged by the first one); it has all 29 others.
    expect(summary?.batchesReceived).toBe(29n);
    expect(summary?.statusMessage).toBe('finished');
    const watch = dashboard.watch('outage');
    const snapshot = await waitFor(
      () => watch.events[0]?.event.case === 'snapshot' && watch.events[0].event.value,
      {
        what: 'snapshot',
      },
    );
    watch.stop();
    expect(snapshot.lossHistory?.steps.map(Number)).toEqual(
      Array.from({ length: 29 }, (_, i) => i + 1),
    );
    // The newest images survived the outage.
    expect(snapshot.latestImages).toMatchObject({ batchIdx: 29 });
    expect(snapshot.latestImages?.images).toHaveLength(16);
  });

  it('a long outage holds memory at the bound, not at what was logged', async () => {
    const bound = 100;
    const session = await TrainingSession.connect({
      address: '127.0.0.1:1',
      config: { totalEpochs: 1, batchesPerEpoch: 2000, batchSize: 16 },
      bufferSize: bound,
      connectTimeoutMs: 0,
      reconnect: { initialDelayMs: 1000, maxDelayMs: 2000 },
      onError: () => undefined,
    });
    const template = freshImages(2);
    const frameBytes = template.reduce((n, image) => n + image.imageBytes.byteLength, 0);
    const baseline = await settledArrayBufferBytes();
    const batches = 2000;
    for (let i = 0; i < batches; i++) {
      // Fresh bytes per batch, as a real loop would produce.
      const images = template.map((image) => ({ ...image, imageBytes: image.imageBytes.slice() }));
      session.logBatch({ epoch: 0, batchIdx: i, loss: 1, images });
    }
    const stats = session.stats();
    expect(stats.bufferSlots).toBeLessThanOrEqual(bound);
    expect(stats.bufferedImageBytes).toBeLessThanOrEqual(bound * frameBytes);
    const grown = (await settledArrayBufferBytes()) - baseline;
    // Unbounded, this would be ~2000 frames; the bound allows at most `bound`.
    expect(grown).toBeLessThan(bound * frameBytes * 1.5);
    expect(batches * frameBytes).toBeGreaterThan(grown * 10);
    await session.close({ flushTimeoutMs: 0 });
  });
});
