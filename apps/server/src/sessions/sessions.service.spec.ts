import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { ConnectionState, SessionInfoSchema, TrainingStatus } from '@trainwatch/proto';
import { loadServerConfig } from '../config/server-config';
import { FanOutService } from '../fan-out/fan-out.service';
import { MetricsService } from '../metrics/metrics.service';
import type { TrainerLink } from './trainer-link';
import { SessionsService } from './sessions.service';

function service(env: Record<string, string> = {}) {
  const settings = loadServerConfig({
    MAX_SESSIONS: '3',
    HEARTBEAT_INTERVAL_MS: '100',
    STALE_AFTER_MISSED_HEARTBEATS: '2',
    ...env,
  });
  const metrics = new MetricsService();
  const fanOut = new FanOutService(settings, metrics);
  return { sessions: new SessionsService(settings, fanOut, metrics), fanOut };
}

const info = (sessionId: string) =>
  create(SessionInfoSchema, {
    sessionId,
    config: { totalEpochs: 1, batchesPerEpoch: 10, batchSize: 1 },
  });

const link = (): TrainerLink & { closed: number } => {
  const state = { closed: 0 };
  return Object.assign(state, { send: () => undefined, close: () => (state.closed += 1) });
};

describe('SessionsService', () => {
  it('re-registering an id resumes the same session', () => {
    const { sessions } = service();
    const first = sessions.register(info('a'), 1000);
    const again = sessions.register(info('a'), 2000);
    expect(again.resumed).toBe(true);
    expect(again.session).toBe(first.session);
    expect(sessions.list()).toHaveLength(1);
  });

  it('at maxSessions, evicts the oldest finished session first, then the oldest disconnected one', () => {
    const { sessions } = service();
    const oldest = sessions.register(info('oldest'), 1000).session;
    sessions.attachTrainer(oldest, link());
    const finished = sessions.register(info('finished'), 2000).session;
    finished.status = TrainingStatus.COMPLETED;
    sessions.register(info('idle'), 3000);
    sessions.register(info('fourth'), 4000);
    expect(sessions.find('finished')).toBeUndefined();
    expect(sessions.list().map((session) => session.id)).toEqual(['fourth', 'idle', 'oldest']);
    sessions.register(info('fifth'), 5000);
    expect(sessions.find('idle')).toBeUndefined();
    expect(sessions.find('oldest')).toBeDefined();
  });

  it('RESOURCE_EXHAUSTED when every session is live', () => {
    const { sessions } = service();
    for (const id of ['a', 'b', 'c'])
      sessions.attachTrainer(sessions.register(info(id)).session, link());
    expect(() => sessions.register(info('d'))).toThrow(
      expect.objectContaining({ code: status.RESOURCE_EXHAUSTED }),
    );
  });

  it('a newer stream replaces the old one, which is closed; the old one detaching changes nothing', () => {
    const { sessions } = service();
    const session = sessions.register(info('a')).session;
    const first = link();
    const second = link();
    sessions.attachTrainer(session, first);
    sessions.attachTrainer(session, second);
    expect(first.closed).toBe(1);
    sessions.detachTrainer(session, first);
    expect(session.trainer).toBe(second);
    expect(session.connection).toBe(ConnectionState.CONNECTED);
    sessions.detachTrainer(session, second);
    expect(session.connection).toBe(ConnectionState.DISCONNECTED);
  });

  it('silence past missed heartbeats marks STALE, and watchers get the StatusEvent', async () => {
    const { sessions, fanOut } = service();
    const session = sessions.register(info('a'), 1000).session;
    sessions.attachTrainer(session, link(), 1000);
    const watcher = fanOut.watch(session);
    await watcher.next();
    sessions.markStale(1200);
    expect(session.connection).toBe(ConnectionState.CONNECTED);
    sessions.markStale(1201);
    expect(session.connection).toBe(ConnectionState.STALE);
    const event = await watcher.next();
    expect(event?.event).toMatchObject({
      case: 'status',
      value: { connection: ConnectionState.STALE },
    });
    sessions.touch(session, 1300);
    expect(session.connection).toBe(ConnectionState.CONNECTED);
  });
});
