import { create } from '@bufbuild/protobuf';
import { ImageFrameSchema, SessionInfoSchema, type ImageFrame } from '@trainwatch/proto';
import { loadServerConfig } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { FanOutService } from '../fan-out/fan-out.service';
import { MetricsService } from '../metrics/metrics.service';
import { SessionsService } from '../sessions/sessions.service';
import { LatestImagesService } from './latest-images.service';

function setup(env: Record<string, string>) {
  const settings = loadServerConfig(env);
  const metrics = new MetricsService();
  const bus = new SessionEventBus();
  const fanOut = new FanOutService(settings, metrics, bus);
  const sessions = new SessionsService(settings, fanOut, metrics, bus);
  const images = new LatestImagesService(settings, sessions, fanOut, metrics, bus);
  const session = (id: string, now: number) =>
    sessions.register(
      create(SessionInfoSchema, {
        sessionId: id,
        config: { totalEpochs: 1, batchesPerEpoch: 10, batchSize: 1 },
      }),
      now,
    ).session;
  return { images, sessions, fanOut, metrics, session };
}

/** A frame of `bytes` image bytes (the budget counts bytes, it does not decode). */
const frame = (bytes: number, batchIdx = 0): ImageFrame =>
  create(ImageFrameSchema, { batchIdx, images: [{ imageBytes: new Uint8Array(bytes) }] });

describe('LatestImagesService', () => {
  it('evicts the frame of the session that received data longest ago; a watched one is kept', async () => {
    const { images, fanOut, metrics, session } = setup({ IMAGE_MEMORY_BUDGET_BYTES: '300' });
    const watched = session('watched', 1000);
    const finished = session('finished', 2000);
    const live = session('live', 3000);
    fanOut.watch(watched);
    images.hold(watched, frame(100));
    images.hold(finished, frame(100));
    images.hold(live, frame(100));
    const newcomer = session('newcomer', 4000);
    images.hold(newcomer, frame(100));
    expect(finished.latestImages).toBeUndefined();
    expect(finished.toSnapshot().latestImages).toBeUndefined();
    expect(watched.latestImages).toBeDefined();
    expect(live.latestImages).toBeDefined();
    expect(newcomer.latestImages).toBeDefined();
    expect(images.heldBytes).toBe(300);
    const text = await metrics.render();
    expect(text).toContain('trainwatch_image_bytes_held 300\n');
    expect(text).toContain('trainwatch_image_frames_evicted_total 1\n');
    expect(text).toContain('trainwatch_image_memory_budget_bytes 300\n');
  });

  it('a newer frame replaces the session own one without evicting anybody', async () => {
    const { images, metrics, session } = setup({ IMAGE_MEMORY_BUDGET_BYTES: '200' });
    const a = session('a', 1000);
    const b = session('b', 2000);
    images.hold(a, frame(100, 1));
    images.hold(b, frame(100));
    images.hold(a, frame(100, 2));
    expect(a.latestImages?.batchIdx).toBe(2);
    expect(b.latestImages).toBeDefined();
    expect(await metrics.render()).toContain('trainwatch_image_frames_evicted_total 0\n');
  });

  it('a frame larger than the budget is not held, and the older frame is not shown instead', async () => {
    const { images, metrics, session } = setup({ IMAGE_MEMORY_BUDGET_BYTES: '100' });
    const a = session('a', 1000);
    images.hold(a, frame(50));
    images.hold(a, frame(101));
    expect(a.latestImages).toBeUndefined();
    expect(images.heldBytes).toBe(0);
    expect(await metrics.render()).toContain('trainwatch_image_frames_over_budget_total 1\n');
  });

  it('frames of sessions the registry evicted go first', () => {
    const { images, sessions, session } = setup({
      IMAGE_MEMORY_BUDGET_BYTES: '200',
      MAX_SESSIONS: '2',
    });
    const gone = session('gone', 500);
    const old = session('old', 1000);
    images.hold(old, frame(100));
    // Re-registered: newer data than 'old', but still the oldest created.
    images.hold(session('gone', 2000), frame(100));
    expect(gone.lastUpdateMs).toBe(2000);
    const third = session('third', 3000);
    expect(sessions.find('gone')).toBeUndefined();
    images.hold(third, frame(100));
    expect(old.latestImages).toBeDefined();
    expect(third.latestImages).toBeDefined();
    expect(images.heldBytes).toBe(200);
  });
});
