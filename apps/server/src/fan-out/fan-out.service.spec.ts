import { create } from '@bufbuild/protobuf';
import { EpochDataSchema, ImageFrameSchema } from '@trainwatch/proto';
import { loadServerConfig } from '../config/server-config';
import { MetricsService } from '../metrics/metrics.service';
import { Session } from '../sessions/session';
import { FanOutService } from './fan-out.service';

describe('FanOutService', () => {
  it('numbers scalar events by session cursor; image frames carry the cursor without advancing it', async () => {
    const metrics = new MetricsService();
    const fanOut = new FanOutService(loadServerConfig({}), metrics);
    const session = new Session('s', 0, { lossHistoryPoints: 16, commandAuditSize: 4 });
    fanOut.publishScalar(session, { case: 'epoch', value: create(EpochDataSchema, { epoch: 0 }) });
    const watcher = fanOut.watch(session);
    fanOut.publishImages(session, create(ImageFrameSchema, { batchIdx: 1 }));
    fanOut.publishImages(session, create(ImageFrameSchema, { batchIdx: 2 }));
    fanOut.publishScalar(session, { case: 'epoch', value: create(EpochDataSchema, { epoch: 1 }) });
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
