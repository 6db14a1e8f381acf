import { create } from '@bufbuild/protobuf';
import { EpochDataSchema, ImageFrameSchema } from '@trainwatch/proto';
import { loadServerConfig } from '../config/server-config';
import { MetricsService } from '../metrics/metrics.service';
import { Session } from '../sessions/session';
import { SessionEventBus } from '../events/event-bus';
import { WATCH_RESUME_EVENTS, WATCH_RESUME_SESSIONS } from '../common/limits';
import { FanOutService } from './fan-out.service';

function setUp() {
  const metrics = new MetricsService();
  const bus = new SessionEventBus();
  const fanOut = new FanOutService(loadServerConfig({}), metrics, bus);
  const session = new Session('s', 0, { lossHistoryPoints: 16, commandAuditSize: 4 });
  const epochs = (count: number) => {
    for (let index = 0; index < count; index++) {
      const epoch = create(EpochDataSchema, { epoch: Number(session.cursor) });
      void bus.emit('epoch.applied', { session, epoch, timestampMs: 0 });
    }
  };
  /** The resume rings kept, as /metrics tells them. */
  const rings = async () =>
    Number(/trainwatch_watch_resume_rings (\d+)/.exec(await metrics.render())?.[1]);
  return { fanOut, session, epochs, rings };
}

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

  it('keeps no resume ring for a session nobody has watched: its cursor moves, a resume gets a snapshot', async () => {
    const { fanOut, session, epochs, rings } = setUp();
    epochs(10);
    expect(session.cursor).toBe(10n);
    expect(await rings()).toBe(0);
    const watcher = fanOut.watch(session, 5n);
    const first = await watcher.next();
    expect([first?.event.case, first?.cursor]).toEqual(['snapshot', 10n]);
    watcher.close();
  });

  it('a watcher that left resumes from the ring while it holds what came after; the ring goes once it cannot', async () => {
    const { fanOut, session, epochs, rings } = setUp();
    const first = fanOut.watch(session);
    epochs(3);
    const events = [await first.next(), await first.next(), await first.next(), await first.next()];
    const left = events.at(-1)?.cursor ?? 0n;
    expect(left).toBe(3n);
    first.close();
    // Nobody watching: the ring goes on taking events for the watcher's return.
    epochs(WATCH_RESUME_EVENTS - 1);
    expect(await rings()).toBe(1);
    const back = fanOut.watch(session, left);
    const replayed = [];
    for (let index = 0; index < WATCH_RESUME_EVENTS; index++) replayed.push(await back.next());
    expect(replayed[0]?.event.case).toBe('keepalive');
    expect(replayed.slice(1).map((event) => event?.cursor)).toEqual(
      Array.from({ length: WATCH_RESUME_EVENTS - 1 }, (_, index) => left + 1n + BigInt(index)),
    );
    back.close();
    const leftAgain = session.cursor;
    // Once the ring no longer holds the event after the last watcher left, it is dropped.
    epochs(WATCH_RESUME_EVENTS);
    expect(await rings()).toBe(1);
    epochs(1);
    expect(await rings()).toBe(0);
    const late = fanOut.watch(session, leftAgain);
    expect((await late.next())?.event.case).toBe('snapshot');
    // Watched again: a ring again.
    expect(await rings()).toBe(1);
    late.close();
  });

  it('a watched session whose ring went past the bound on rings gets a new one with its next event', async () => {
    const metrics = new MetricsService();
    const bus = new SessionEventBus();
    const fanOut = new FanOutService(loadServerConfig({}), metrics, bus);
    const sessions = Array.from(
      { length: WATCH_RESUME_SESSIONS + 1 },
      (_, index) => new Session(`s${index}`, 0, { lossHistoryPoints: 16, commandAuditSize: 4 }),
    );
    const epoch = (session: Session) =>
      void bus.emit('epoch.applied', {
        session,
        epoch: create(EpochDataSchema, { epoch: Number(session.cursor) }),
        timestampMs: 0,
      });
    const watchers = sessions.map((session) => {
      const watcher = fanOut.watch(session);
      epoch(session);
      return watcher;
    });
    const [first] = sessions as [Session];
    // The newest WATCH_RESUME_SESSIONS sessions' rings pushed the first one's out; it is still watched.
    epoch(first);
    epoch(first);
    const back = fanOut.watch(first, first.cursor - 1n);
    const events = [await back.next(), await back.next()];
    expect(events.map((event) => [event?.event.case, event?.cursor])).toEqual([
      ['keepalive', first.cursor - 1n],
      ['epoch', first.cursor],
    ]);
    back.close();
    for (const watcher of watchers) watcher.close();
  });
});
