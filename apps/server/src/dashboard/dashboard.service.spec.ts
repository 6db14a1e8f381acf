import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import {
  ListSessionsRequestSchema,
  SessionInfoSchema,
  WatchSessionRequestSchema,
} from '@trainwatch/proto';
import { CommandsService } from '../commands/commands.service';
import { loadServerConfig } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { FanOutService } from '../fan-out/fan-out.service';
import { MetricsService } from '../metrics/metrics.service';
import { SessionsService } from '../sessions/sessions.service';
import { DashboardService } from './dashboard.service';

describe('DashboardService', () => {
  const settings = loadServerConfig({});
  const metrics = new MetricsService();
  const bus = new SessionEventBus();
  const fanOut = new FanOutService(settings, metrics, bus);
  const sessions = new SessionsService(settings, fanOut, metrics, bus);
  const dashboard = new DashboardService(
    sessions,
    fanOut,
    new CommandsService(settings, sessions, bus, metrics),
  );
  const register = (sessionId: string, now: number) =>
    sessions.register(
      create(SessionInfoSchema, {
        sessionId,
        config: { totalEpochs: 1, batchesPerEpoch: 1, batchSize: 1 },
      }),
      now,
    );

  it('lists sessions newest first, ties by session id (descending)', () => {
    register('old', 1000);
    register('tie-a', 2000);
    register('tie-b', 2000);
    const ids = dashboard
      .listSessions(create(ListSessionsRequestSchema))
      .sessions.map((session) => session.sessionId);
    expect(ids).toEqual(['tie-b', 'tie-a', 'old']);
  });

  it('watch starts with the snapshot; NOT_FOUND for an unknown session', async () => {
    const watcher = dashboard.watchSession(create(WatchSessionRequestSchema, { sessionId: 'old' }));
    expect((await watcher.next())?.event.case).toBe('snapshot');
    watcher.close();
    expect(() =>
      dashboard.watchSession(create(WatchSessionRequestSchema, { sessionId: 'nope' })),
    ).toThrow(expect.objectContaining({ code: status.NOT_FOUND }));
  });
});
