import { waitFor } from '@trainwatch/testing';
import { encode } from 'jpeg-js';
import {
  grpcDashboard,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
} from './harness';

/** Small enough that 40 sessions' frames cannot all be held: about four frames fit. */
const BUDGET_BYTES = 2_000_000;
const SESSIONS = 40;
const FRAMES_PER_SESSION = 3;
const IMAGES_PER_FRAME = 4;

/** A JPEG of noise: noise barely compresses, so each image is ~120 KB. */
function noiseJpeg(side: number, seed: number): Uint8Array {
  const data = Buffer.alloc(side * side * 4);
  let state = seed;
  for (let index = 0; index < data.length; index++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    data[index] = state >>> 24;
  }
  return new Uint8Array(encode({ data, width: side, height: side }, 90).data);
}

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const match = new RegExp(`^trainwatch_${name} (\\d+)$`, 'm').exec(text);
  if (match === null) throw new Error(`/metrics has no trainwatch_${name}`);
  return Number(match[1]);
}

describe('image memory budget over real sockets', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;
  let dashboard: DashboardApi;

  beforeAll(async () => {
    server = await startTestServer({
      IMAGE_MEMORY_BUDGET_BYTES: String(BUDGET_BYTES),
      MAX_IMAGES_PER_BATCH: String(IMAGES_PER_FRAME),
    });
    telemetry = telemetryClient(server.grpcAddress);
    dashboard = grpcDashboard(server.grpcAddress);
  });

  afterAll(async () => {
    telemetry.close();
    dashboard.close();
    await server.shutdown();
  });

  it('40 sessions of large frames: held bytes stay within the budget, the least useful go, a watched session keeps its frames', async () => {
    const jpegs = Array.from({ length: IMAGES_PER_FRAME }, (_, index) => noiseJpeg(256, index + 1));
    const frameBytes = jpegs.reduce((sum, jpeg) => sum + jpeg.byteLength, 0);
    expect(frameBytes * SESSIONS).toBeGreaterThan(BUDGET_BYTES * 8);
    const images = jpegs.map((imageBytes) => ({
      imageBytes,
      format: 'jpeg',
      width: 256,
      height: 256,
      channels: 3,
    }));

    // Sample the held-bytes gauge the whole time the load runs.
    let sampling = true;
    let largestHeld = 0;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        largestHeld = Math.max(largestHeld, await metric(server, 'image_bytes_held'));
        samples += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    await register(telemetry, { sessionId: 'watched' });
    const watchedStream = new TrainerStreamClient(telemetry, 'watched');
    watchedStream.send(0n, { case: 'heartbeat', value: { sequenceNumber: 1n } });
    const watch = dashboard.watch('watched');
    await waitFor(() => watch.events[0], { what: 'snapshot of the watched session' });

    const streams: TrainerStreamClient[] = [];
    let watchedBatches = 0;
    for (let index = 0; index < SESSIONS; index++) {
      const id = `heavy-${index}`;
      await register(telemetry, { sessionId: id });
      const stream = new TrainerStreamClient(telemetry, id);
      streams.push(stream);
      for (let frame = 0; frame < FRAMES_PER_SESSION; frame++)
        stream.batch(BigInt(frame + 1), 0, frame, { images });
      await stream.waitForAck(BigInt(FRAMES_PER_SESSION));
      if (index % 4 === 0) {
        watchedBatches += 1;
        watchedStream.batch(BigInt(watchedBatches), 0, watchedBatches, { images });
      }
    }
    await watchedStream.waitForAck(BigInt(watchedBatches));
    // The watcher got the watched session's newest live frame.
    await waitFor(
      () =>
        watch.events.find(
          (event) => event.event.case === 'images' && event.event.value.batchIdx === watchedBatches,
        ),
      { what: `live frame of batch ${watchedBatches}` },
    );
    sampling = false;
    await sampler;

    expect(samples).toBeGreaterThan(10);
    expect(largestHeld).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(await metric(server, 'image_bytes_held')).toBeLessThanOrEqual(BUDGET_BYTES);
    const held = await metric(server, 'image_frames_held');
    expect(held).toBeGreaterThan(0);
    // Every frame beyond those held was either replaced by its session's next one or evicted.
    const evicted = await metric(server, 'image_frames_evicted_total');
    expect(evicted).toBeGreaterThanOrEqual(SESSIONS - held);

    for (const stream of [watchedStream, ...streams]) {
      expect(stream.errors()).toEqual([]);
      expect(stream.acks().every((ack) => ack.success)).toBe(true);
    }

    // A late joiner of the watched session still gets its newest frame in the snapshot.
    const lateWatched = dashboard.watch('watched');
    const watchedSnapshot = await waitFor(() => lateWatched.events[0], { what: 'snapshot' });
    expect(watchedSnapshot.event.case).toBe('snapshot');
    if (watchedSnapshot.event.case === 'snapshot') {
      expect(watchedSnapshot.event.value.latestImages?.batchIdx).toBe(watchedBatches);
    }
    // The first heavy session, unwatched and silent longest, lost its frame: no latest images.
    const lateFirst = dashboard.watch('heavy-0');
    const firstSnapshot = await waitFor(() => lateFirst.events[0], { what: 'snapshot' });
    expect(firstSnapshot.event.case).toBe('snapshot');
    if (firstSnapshot.event.case === 'snapshot') {
      expect(firstSnapshot.event.value.latestImages).toBeUndefined();
      expect(firstSnapshot.event.value.session?.batchesReceived).toBe(BigInt(FRAMES_PER_SESSION));
    }
    for (const handle of [watch, lateWatched, lateFirst]) handle.cancel();
    for (const stream of [watchedStream, ...streams]) stream.end();
  });
});
