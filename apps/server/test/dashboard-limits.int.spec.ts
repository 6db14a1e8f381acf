import { create, toBinary } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import {
  MetricsRequestSchema,
  TrainingStatus,
  type ImageFrame,
  type SessionSnapshot,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  DEFAULT_CLIENT_RECEIVE_BYTES,
  MAX_CLASS_NAME_LENGTH,
  MAX_CLASS_NAMES,
} from '../src/common/limits';
import {
  expectCallError,
  grpcDashboard,
  grpcWebDashboard,
  makeJpeg,
  register,
  scalarEvents,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
  type WatchHandle,
} from './harness';

/** The largest class list registration accepts (ASCII: 2,560,000 bytes of names). */
const largestClassList = () =>
  Array.from({ length: MAX_CLASS_NAMES }, (_, index) =>
    `${index}`.padEnd(MAX_CLASS_NAME_LENGTH, 'n'),
  );

/**
 * A valid JPEG padded after its end marker, and ending with one again so the
 * truncation check passes: the server reads the headers and the last bytes.
 */
function paddedJpeg(bytes: number): Uint8Array {
  const jpeg = makeJpeg(8, 8);
  const padded = new Uint8Array(bytes);
  padded.set(jpeg);
  padded.set([0xff, 0xd9], bytes - 2);
  return padded;
}

function snapshotOf(handle: WatchHandle): SessionSnapshot {
  const first = handle.events[0];
  if (first?.event.case !== 'snapshot') throw new Error('the first event is not the snapshot');
  return first.event.value;
}

const imageFrames = (handle: WatchHandle): ImageFrame[] =>
  handle.events.flatMap((event) => (event.event.case === 'images' ? [event.event.value] : []));

/**
 * What a dashboard with default receive limits (4 MiB) gets from sessions
 * that hold the most the server accepts: every watch event and every
 * ListSessions page stays under the limit, over both bindings.
 */
describe('dashboard messages stay under a default client limit', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;
  const dashboards: DashboardApi[] = [];

  beforeAll(async () => {
    server = await startTestServer({ HEARTBEAT_INTERVAL_MS: '500' });
    telemetry = telemetryClient(server.grpcAddress);
    dashboards.push(
      grpcDashboard(server.grpcAddress, { defaultLimits: true }),
      grpcWebDashboard(server.httpUrl, { readMaxBytes: DEFAULT_CLIENT_RECEIVE_BYTES }),
    );
  });

  afterAll(async () => {
    for (const dashboard of dashboards) dashboard.close();
    telemetry.close();
    await server.shutdown();
  });

  async function trainer(sessionId: string, classNames = ['a', 'b']) {
    await register(telemetry, {
      sessionId,
      config: { totalEpochs: 3, batchesPerEpoch: 100, batchSize: 32, classNames },
    });
    const stream = new TrainerStreamClient(telemetry, sessionId);
    stream.send(1n, {
      case: 'statusUpdate',
      value: { status: TrainingStatus.RUNNING, message: 'é'.repeat(4096) },
    });
    await stream.waitForAck(1n);
    return stream;
  }

  it('watches the largest class list plus the largest accepted image frame, natively and over gRPC-Web', async () => {
    const healthy = await trainer('limits-healthy');
    const heavy = await trainer('limits-heavy', largestClassList());
    // 16 images filling the 8 MiB message limit, every one accepted by ingest.
    const imageBytes = Math.floor((server.settings.maxMessageBytes - 64 * 1024) / 16);
    const images = Array.from({ length: 16 }, () => ({
      imageBytes: paddedJpeg(imageBytes),
      format: 'jpeg',
      width: 8,
      height: 8,
      channels: 3,
    }));
    const predictions = images.map((_, index) => ({ predictedClass: index, confidence: 0.5 }));
    const frameRequest = create(MetricsRequestSchema, {
      sessionId: heavy.sessionId,
      sequence: 2n,
      payload: {
        case: 'batchData',
        value: { epoch: 0, batchIdx: 1, batchSize: 16, batchLoss: 0.5, images, predictions },
      },
    });
    expect(toBinary(MetricsRequestSchema, frameRequest).byteLength).toBeGreaterThan(
      DEFAULT_CLIENT_RECEIVE_BYTES * 1.9,
    );
    heavy.call.write(frameRequest);
    await heavy.waitForAck(2n);
    expect(heavy.errors()).toEqual([]);

    const watches = dashboards.map((dashboard) => dashboard.watch(heavy.sessionId));
    const healthyWatches = dashboards.map((dashboard) => dashboard.watch(healthy.sessionId));
    for (const watch of watches) {
      await waitFor(() => imageFrames(watch).flatMap((frame) => frame.images).length >= 16, {
        timeoutMs: 20_000,
        what: 'the snapshot and every image of the frame',
      });
      expect(watch.error).toBeUndefined();
      const snapshot = snapshotOf(watch);
      expect(snapshot.session?.config?.classNames).toHaveLength(MAX_CLASS_NAMES);
      expect(snapshot.session?.classCount).toBe(MAX_CLASS_NAMES);
      const parts = imageFrames(watch);
      expect(parts.length).toBeGreaterThan(1);
      expect(parts.every((part) => part.step === 1n)).toBe(true);
      expect(parts.map((part) => part.firstIndex)).toEqual(
        parts.map((_, index) =>
          parts.slice(0, index).reduce((sum, part) => sum + part.images.length, 0),
        ),
      );
      const received = parts.flatMap((part) => part.images);
      expect(received.map((image) => image.imageBytes.length)).toEqual(Array(16).fill(imageBytes));
      expect(parts.flatMap((part) => part.predictions).map((p) => p.predictedClass)).toEqual(
        predictions.map((p) => p.predictedClass),
      );
    }

    // Live: a frame with one image too large for any 4 MiB message comes without its bytes.
    heavy.batch(3n, 0, 2, {
      images: [{ imageBytes: paddedJpeg(5 * 1024 * 1024), format: 'jpeg', width: 8, height: 8 }],
      predictions: [{ predictedClass: 3, confidence: 0.25 }],
    });
    healthy.batch(2n, 0, 1);
    for (const watch of watches) {
      const frame = await waitFor(() => imageFrames(watch).find((part) => part.step === 2n), {
        what: 'the live frame with an oversized image',
      });
      expect(frame.images[0]?.imageBytes.length).toBe(0);
      expect(frame.predictions[0]?.predictedClass).toBe(3);
      expect(watch.error).toBeUndefined();
    }
    // The healthy session next door kept streaming to its watchers.
    for (const watch of healthyWatches) {
      await waitFor(() => scalarEvents(watch).some((event) => event.event.case === 'batch'), {
        what: "the healthy session's batch",
      });
      expect(watch.error).toBeUndefined();
    }
    await healthy.waitForAck(2n);
    for (const watch of [...watches, ...healthyWatches]) watch.cancel();
    heavy.end();
    healthy.end();
  }, 60_000);

  it('pages ListSessions over many sessions with large class lists; every session reachable once', async () => {
    const imagenet = Array.from({ length: 1000 }, (_, index) => `imagenet class number ${index}`);
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      ids.push(`list-largest-${index}`);
      await register(telemetry, {
        sessionId: `list-largest-${index}`,
        config: {
          totalEpochs: 1,
          batchesPerEpoch: 1,
          batchSize: 1,
          classNames: largestClassList(),
        },
      });
    }
    await Promise.all(
      Array.from({ length: 300 }, (_, index) => {
        ids.push(`list-imagenet-${index}`);
        return register(telemetry, {
          sessionId: `list-imagenet-${index}`,
          config: { totalEpochs: 1, batchesPerEpoch: 1, batchSize: 1, classNames: imagenet },
        });
      }),
    );
    for (const dashboard of dashboards) {
      // One page of everything: no class lists, so it fits a default client.
      const whole = await dashboard.listSessions({ pageSize: 1000 });
      expect(whole.nextPageToken).toBe('');
      expect(whole.sessions.map((s) => s.sessionId)).toEqual(expect.arrayContaining(ids));
      const largest = whole.sessions.find((s) => s.sessionId === 'list-largest-0');
      expect(largest?.classCount).toBe(MAX_CLASS_NAMES);
      expect(largest?.config?.classNames).toEqual([]);

      // Pages of 40, with sessions added between pages: none repeats, none is missed.
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = await dashboard.listSessions({ pageSize: 40, pageToken: token });
        expect(page.sessions.length).toBeLessThanOrEqual(40);
        expect(page.totalSize).toBeGreaterThanOrEqual(ids.length);
        seen.push(...page.sessions.map((s) => s.sessionId));
        token = page.nextPageToken;
        pages += 1;
        await register(telemetry, {
          sessionId: `list-added-${dashboard.name.replace(/\W/g, '')}-${pages}`,
        });
      } while (token !== '');
      expect(pages).toBeGreaterThan(ids.length / 40);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining(ids));

      const error = await expectCallError(dashboard.listSessions({ pageSize: 1001 }));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.message).toMatch(/1 to 1000/);
    }
  }, 60_000);

  it('lists the sessions of a set of ids in one call, and refuses a set it cannot take', async () => {
    for (const id of ['ids-a', 'ids-b', 'ids-c']) await register(telemetry, { sessionId: id });
    for (const dashboard of dashboards) {
      const some = await dashboard.listSessions({ sessionIds: ['ids-c', 'ids-a', 'ids-unknown'] });
      // Newest first, like any page; an id the server does not know is left out.
      expect(some.sessions.map((s) => s.sessionId)).toEqual(['ids-c', 'ids-a']);
      expect(some.totalSize).toBe(2);
      const filtered = await dashboard.listSessions({ sessionIds: ['ids-a', 'ids-b'], text: 'b' });
      expect(filtered.sessions.map((s) => s.sessionId)).toEqual(['ids-b']);

      const tooMany = await expectCallError(
        dashboard.listSessions({ sessionIds: Array.from({ length: 1001 }, (_, i) => `x${i}`) }),
      );
      expect(tooMany.code).toBe(status.INVALID_ARGUMENT);
      expect(tooMany.message).toMatch(/1001 ids; at most 1000/);
      const notAnId = await expectCallError(
        dashboard.listSessions({ sessionIds: ['ok', 'no spaces'] }),
      );
      expect(notAnId.code).toBe(status.INVALID_ARGUMENT);
      expect(notAnId.message).toContain('"no spaces", not a session id');
    }
  }, 30_000);
});
