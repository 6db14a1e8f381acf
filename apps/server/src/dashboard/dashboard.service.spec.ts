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
import { CommitBacklog } from '../events/commit-backlog';
import { HealthService } from '../health/health.service';
import { LatestImagesService } from '../images/latest-images.service';
import { ReplicasService } from '../replicas/replicas.service';
import { RunsService } from '../runs/runs.service';
import { SessionsService } from '../sessions/sessions.service';
import { StoreWriter } from '../store/store-writer';
import { WatchdogService } from '../watchdog/watchdog.service';
import { DashboardService } from './dashboard.service';

describe('DashboardService', () => {
  const settings = loadServerConfig({});
  const metrics = new MetricsService();
  const bus = new SessionEventBus();
  const fanOut = new FanOutService(settings, metrics, bus);
  const sessions = new SessionsService(settings, fanOut, metrics, bus);
  // No store (STORE_ENGINE=memory): every session is answered from memory.
  const runs = new RunsService(
    settings,
    null,
    sessions,
    new LatestImagesService(settings, sessions, fanOut, metrics, bus),
    new StoreWriter(settings, null, bus, new CommitBacklog(), new HealthService()),
    bus,
  );
  const commands = new CommandsService(settings, sessions, bus, metrics);
  const watchdog = new WatchdogService(settings, bus, sessions, commands);
  afterAll(() => watchdog.onModuleDestroy());
  // No NATS_URL: the replicas service stands aside and everything stays in this process.
  const replicas = new ReplicasService(
    settings,
    null,
    bus,
    fanOut,
    sessions,
    runs,
    commands,
    metrics,
  );
  const dashboard = new DashboardService(runs, fanOut, commands, watchdog, replicas);
  const register = (sessionId: string, now: number) =>
    sessions.register(
      create(SessionInfoSchema, {
        sessionId,
        config: { totalEpochs: 1, batchesPerEpoch: 1, batchSize: 1 },
      }),
      now,
    );

  it('lists sessions newest first, ties by session id (descending)', async () => {
    register('old', 1000);
    register('tie-a', 2000);
    register('tie-b', 2000);
    const ids = (await dashboard.listSessions(create(ListSessionsRequestSchema))).sessions.map(
      (session) => session.sessionId,
    );
    expect(ids).toEqual(['tie-b', 'tie-a', 'old']);
  });

  it('watch starts with the snapshot; NOT_FOUND for an unknown session', async () => {
    const watcher = await dashboard.watchSession(
      create(WatchSessionRequestSchema, { sessionId: 'old' }),
    );
    expect((await watcher.next())?.event.case).toBe('snapshot');
    watcher.close();
    await expect(
      dashboard.watchSession(create(WatchSessionRequestSchema, { sessionId: 'nope' })),
    ).rejects.toMatchObject({ code: status.NOT_FOUND });
  });
});
