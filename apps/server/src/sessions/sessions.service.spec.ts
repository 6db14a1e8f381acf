import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import {
  ConnectionState,
  ErrorCode,
  SessionInfoSchema,
  TrainingStatus,
  type MetricsResponse,
} from '@trainwatch/proto';
import type { AppError } from '../common/app-error';
import { loadServerConfig } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
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
  const bus = new SessionEventBus();
  const fanOut = new FanOutService(settings, metrics, bus);
  return { sessions: new SessionsService(settings, fanOut, metrics, bus), fanOut };
}

const info = (
  sessionId: string,
  init: { resumeToken?: string; resumeFromSequence?: bigint } = {},
) =>
  create(SessionInfoSchema, {
    sessionId,
    clientName: 'spec',
    config: { totalEpochs: 1, batchesPerEpoch: 10, batchSize: 1 },
    ...init,
  });

interface FakeLink extends TrainerLink {
  closed: (AppError | undefined)[];
  sent: MetricsResponse[];
}

const link = (): FakeLink => {
  const state: Pick<FakeLink, 'closed' | 'sent'> = { closed: [], sent: [] };
  return Object.assign(state, {
    send: (response: MetricsResponse) => state.sent.push(response),
    close: (error?: AppError) => state.closed.push(error),
  });
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

  it('a newer stream with the resume token replaces the old one, which ends ABORTED; the old one detaching changes nothing', () => {
    const { sessions } = service();
    const session = sessions.register(info('a')).session;
    const first = link();
    const second = link();
    sessions.attachTrainer(session, first);
    sessions.attachTrainer(session, second, { resumeToken: session.resumeToken });
    expect(first.closed).toEqual([expect.objectContaining({ code: status.ABORTED })]);
    expect(first.closed[0]?.message).toMatch(/replaced by a newer stream of the same trainer/);
    sessions.detachTrainer(session, first);
    expect(session.trainer).toBe(second);
    expect(session.connection).toBe(ConnectionState.CONNECTED);
    sessions.detachTrainer(session, second);
    expect(session.connection).toBe(ConnectionState.DISCONNECTED);
  });

  it('a stream without the token is refused ALREADY_EXISTS while another is open; the holder is told, the conflict recorded', () => {
    const { sessions } = service();
    const session = sessions.register(info('a'), 1000).session;
    const holder = link();
    sessions.attachTrainer(session, holder, {}, 1000);
    for (const resumeToken of [undefined, 'wrong']) {
      expect(() =>
        sessions.attachTrainer(session, link(), { resumeToken, peer: 'ipv4:10.0.0.9:5' }, 1100),
      ).toThrow(expect.objectContaining({ code: status.ALREADY_EXISTS }));
    }
    expect(session.trainer).toBe(holder);
    expect(holder.closed).toEqual([]);
    expect(session.toSummary().writerConflict).toMatchObject({
      peer: 'ipv4:10.0.0.9:5',
      refusals: 2,
      lastRefusedAtMs: 1100n,
    });
    // Two refusals within the notice interval: the holder hears about it once.
    expect(holder.sent.map((response) => response.payload.value)).toEqual([
      expect.objectContaining({ code: ErrorCode.SESSION_CONFLICT }),
    ]);
    sessions.detachTrainer(session, holder);
    expect(session.toSummary().writerConflict).toBeUndefined();
    // Nobody live: anyone may attach, token or not.
    sessions.attachTrainer(session, link());
    expect(session.connection).toBe(ConnectionState.CONNECTED);
  });

  it('registration while a stream is open needs the token; an idle session gets a fresh token unless it matched', () => {
    const { sessions } = service();
    const session = sessions.register(info('a')).session;
    const original = session.resumeToken;
    sessions.attachTrainer(session, link());
    expect(() => sessions.register(info('a'))).toThrow(
      expect.objectContaining({ code: status.ALREADY_EXISTS }),
    );
    expect(() => sessions.register(info('a', { resumeToken: 'wrong' }))).toThrow(
      expect.objectContaining({ code: status.ALREADY_EXISTS }),
    );
    expect(session.toSummary().writerConflict).toMatchObject({ clientName: 'spec', refusals: 2 });
    expect(sessions.register(info('a', { resumeToken: original })).resumed).toBe(true);
    expect(session.resumeToken).toBe(original);
    sessions.detachTrainer(session, session.trainer as TrainerLink);
    sessions.register(info('a'));
    expect(session.resumeToken).not.toBe(original);
  });

  it('resume_from_sequence on an unknown id starts a partial session there; on a known one it is ignored', () => {
    const { sessions } = service();
    const fresh = sessions.register(info('a', { resumeFromSequence: 40n })).session;
    expect([fresh.lastSequence, fresh.partialHistory]).toEqual([40n, true]);
    const known = sessions.register(info('b')).session;
    sessions.register(info('b', { resumeFromSequence: 40n }));
    expect([known.lastSequence, known.partialHistory]).toEqual([0n, false]);
  });

  it('a finished run whose stream closes is CLOSED, not UNSPECIFIED', () => {
    const { sessions } = service();
    const session = sessions.register(info('a')).session;
    const only = link();
    sessions.attachTrainer(session, only);
    session.status = TrainingStatus.COMPLETED;
    sessions.detachTrainer(session, only);
    expect(session.connection).toBe(ConnectionState.CLOSED);
  });

  it('silence past missed heartbeats marks STALE, and watchers get the StatusEvent', async () => {
    const { sessions, fanOut } = service();
    const session = sessions.register(info('a'), 1000).session;
    sessions.attachTrainer(session, link(), {}, 1000);
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
