import { create } from '@bufbuild/protobuf';
import { EpochDataSchema, ImageFrameSchema } from '@trainwatch/proto';
import { loadServerConfig } from '../config/server-config';
import { MetricsService } from '../metrics/metrics.service';
import { Session } from '../sessions/session';
import { SessionEventBus } from '../events/event-bus';
import { FanOutService } from './fan-out.service';

describe('FanOutService', () => {
  it('numbers lossless events from the bus by session cursor; image frames carry the cursor without advancing it', async () => {
    const metrics = new MetricsService();
    const bus = new SessionEventBus();
    const fanOut = new FanOutService(loadServerConfig({}), metrics, bus);
    const session = new Session('s', 0, { lossHistoryPoints: 16, commandAuditSize: 4 });
    const epoch = (n: number) => create(EpochDataSchema, { epoch: n });
    void bus.emit('epoch.applied', { session, epoch: epoch(0), timestampMs: 0 });
    const watcher = fanOut.watch(session);
    void bus.emit('images.received', { session, frame: create(ImageFrameSchema, { batchIdx: 1 }) });
    void bus.emit('images.received', { session, frame: create(ImageFrameSchema, { batchIdx: 2 }) });
    void bus.emit('epoch.applied', { session, epoch: epoch(1), timestampMs: 0 });
    const events = [await watcher.next(), await watcher.next(), await watcher.next()];
    expect(events.map((event) => [event?.event.case, event?.cursor])).toEqual([
      ['snapshot', 1n],
      ['images', 1n],
      ['epoch', 2n],
    ]);
    expect(metrics.droppedImageFrames).toBe(1);
    expect(fanOut.watcherCount).toBe(1);
    watcher.close();
    expect(fanOut.watcherCount).toBe(0);
  });
});
