import { CommandState, CommandType, type WatchSessionResponse } from '@trainwatch/proto';
import {
  startNats,
  startPostgres,
  startServerProcess,
  waitFor,
  type ServerProcess,
  type TestNats,
  type TestPostgres,
} from '@trainwatch/testing';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/store/open-database';
import { grpcDashboard, type DashboardApi, type WatchHandle } from './harness';
import { seen } from './replica-watch';
import { RESUMING_TRAINER_IMAGE, ResumingTrainer, storedLossSteps } from './resuming-trainer';

/** Messages per run: ~5 s at 60 msg/s. */
const MESSAGES = 300;

const allSteps = [...Array(MESSAGES).keys()];

/** Image frames a watcher got (latest-wins: some, not every one, reach a watcher). */
const imageFrames = (handle: WatchHandle): number =>
  handle.events.filter((event) => event.event.case === 'images').length;

describe('three replicas on NATS and PostgreSQL, image frames in a shared FRAMES_DIR', () => {
  let nats: TestNats;
  let postgres: TestPostgres;
  let databaseUrl: string;
  /** The frames folder every replica shares (a volume in compose). */
  const framesDir = mkdtempSync(join(tmpdir(), 'trainwatch-replica-frames-'));
  const replicas: ServerProcess[] = [];
  const dashboards: DashboardApi[] = [];
  const trainers: ResumingTrainer[] = [];

  beforeAll(async () => {
    nats = await startNats();
    postgres = await startPostgres();
    databaseUrl = await postgres.createDatabase();
    // One after another: the first applies the store's migrations.
    for (let i = 0; i < 3; i++) {
      replicas.push(
        await startServerProcess({
          env: {
            NATS_URL: nats.url,
            DATABASE_URL: databaseUrl,
            FRAMES_DIR: framesDir,
            // Short, so a dead replica's sessions are free again within the test.
            REPLICA_LEASE_TTL_MS: '2000',
          },
          startTimeoutMs: 30_000,
        }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const trainer of trainers) trainer.stop();
    for (const dashboard of dashboards) dashboard.close();
    await Promise.all(replicas.map((replica) => replica.stop()));
    await nats?.destroy();
    await postgres?.destroy();
    rmSync(framesDir, { recursive: true, force: true });
  }, 60_000);

  const dashboardOn = (replica: ServerProcess): DashboardApi => {
    const dashboard = grpcDashboard(replica.grpcAddress);
    dashboards.push(dashboard);
    return dashboard;
  };

  const storedSteps = async (sessionId: string): Promise<number[]> =>
    storedLossSteps(await openDatabase({ engine: 'postgres', url: databaseUrl }), sessionId);

  it('a trainer on A is watched from B and C in order, and a command sent through C reaches it', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const trainer = new ResumingTrainer(() => a.grpcAddress, 'across-replicas', MESSAGES);
    trainers.push(trainer);
    await trainer.start();
    await waitFor(() => trainer.acked.size >= 30, { what: 'the run under way' });

    const onB = dashboardOn(b).watch('across-replicas');
    const onC = dashboardOn(c).watch('across-replicas');
    await waitFor(() => onB.events.length > 0 && onC.events.length > 0, {
      what: 'snapshots on B and C',
    });

    const response = await dashboardOn(c).sendCommand({
      sessionId: 'across-replicas',
      type: CommandType.PAUSE,
      issuedBy: 'replica test',
    });
    expect(response.entry?.state).toBe(CommandState.SUCCEEDED);
    expect(trainer.commands).toContain(CommandType.PAUSE);

    await waitFor(() => trainer.acked.size === MESSAGES, {
      timeoutMs: 30_000,
      what: 'the whole run acknowledged',
    });
    for (const handle of [onB, onC]) {
      await waitFor(() => seen(handle).steps.at(-1) === MESSAGES - 1, {
        what: 'the last batch on every watcher',
      });
      const { steps, cursorJumps } = seen(handle);
      expect(handle.error).toBeUndefined();
      expect(cursorJumps).toEqual([]);
      // Every step once, in order: the snapshot's history, then the live batches.
      expect(steps).toEqual(allSteps);
      // The command's audit entry reached watchers on other replicas too.
      const audited = handle.events.filter(
        (event: WatchSessionResponse) =>
          event.event.case === 'command' && event.event.value.state === CommandState.SUCCEEDED,
      );
      expect(audited.length).toBeGreaterThan(0);
      // The owner sends image frames over NATS because B and C follow the session.
      expect(imageFrames(handle)).toBeGreaterThan(0);
    }
    expect(await storedSteps('across-replicas')).toEqual(allSteps);
  }, 90_000);

  it('kill -9 of the replica holding the trainer: it resumes on B, watchers on B and C go on, nothing lost or doubled', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    let target = a;
    const trainer = new ResumingTrainer(() => target.grpcAddress, 'failover', MESSAGES);
    trainers.push(trainer);
    await trainer.start();
    await waitFor(() => trainer.acked.size >= 20, { what: 'the run under way on A' });
    const onB = dashboardOn(b).watch('failover');
    const onC = dashboardOn(c).watch('failover');
    await waitFor(() => seen(onB).steps.length > 20 && seen(onC).steps.length > 20, {
      what: 'watchers on B and C following',
    });
    await waitFor(() => trainer.acked.size >= MESSAGES / 3, { what: 'a third of the run on A' });

    const framesBefore = [imageFrames(onB), imageFrames(onC)];
    target = b;
    await a.kill();

    await waitFor(() => trainer.acked.size === MESSAGES, {
      timeoutMs: 45_000,
      what: 'the whole run acknowledged after the failover',
    });
    for (const handle of [onB, onC]) {
      await waitFor(() => seen(handle).steps.at(-1) === MESSAGES - 1, {
        timeoutMs: 15_000,
        what: 'the last batch on every watcher',
      });
      const { steps, cursorJumps } = seen(handle);
      expect(handle.error).toBeUndefined();
      expect(cursorJumps).toEqual([]);
      expect(steps).toEqual(allSteps);
      // The new owner B knows C follows: frames go on after the failover, on B (locally) and C.
      expect(imageFrames(handle)).toBeGreaterThan(framesBefore[handle === onB ? 0 : 1] ?? 0);
    }
    expect(await storedSteps('failover')).toEqual(allSteps);
    // A and B each appended to segment files of their own in the shared folder.
    const writers = new Set(
      readdirSync(join(framesDir, 'run-failover')).map((name) => name.split('-')[0]),
    );
    expect(writers.size).toBeGreaterThanOrEqual(2);
    // C, which never held the run, reads every frame the store keeps, whole.
    const readerOnC = dashboardOn(c);
    const listed = await readerOnC.getImageFrames({ sessionId: 'failover', maxFrames: 1 });
    expect(listed.frameSteps.length).toBeGreaterThan(200);
    const read: bigint[] = [];
    for (let at = 0; at < listed.frameSteps.length; at += 64) {
      const window = listed.frameSteps.slice(at, at + 64);
      const page = await readerOnC.getImageFrames({
        sessionId: 'failover',
        fromStep: window[0],
        toStep: window.at(-1),
        maxFrames: 64,
      });
      for (const frame of page.frames) {
        read.push(frame.step);
        expect(frame.images.map((image) => image.imageBytes)).toEqual(
          Array.from({ length: 16 }, () => RESUMING_TRAINER_IMAGE),
        );
      }
    }
    expect(read).toEqual(listed.frameSteps);
    await a.start();
  }, 120_000);

  it('NATS restarted mid-run: the replicas reconnect by themselves and nothing acknowledged is lost', async () => {
    if (!nats.ownServer) return; // an outside NATS_URL cannot be restarted by a test
    const [, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const trainer = new ResumingTrainer(() => b.grpcAddress, 'nats-restart', MESSAGES);
    trainers.push(trainer);
    await trainer.start();
    await waitFor(() => trainer.acked.size >= 20, { what: 'the run under way on B' });
    const onC = dashboardOn(c).watch('nats-restart');
    await waitFor(() => seen(onC).steps.length > 20, { what: 'the watcher on C following' });

    await nats.stop();
    await waitFor(() => trainer.acked.size >= MESSAGES / 2, {
      timeoutMs: 30_000,
      what: 'acks going on while NATS is away (they wait for the store only)',
    });
    await nats.start();

    await waitFor(() => trainer.acked.size === MESSAGES, {
      timeoutMs: 30_000,
      what: 'the whole run acknowledged',
    });
    expect(await storedSteps('nats-restart')).toEqual(allSteps);
    await waitFor(() => seen(onC).steps.at(-1) === MESSAGES - 1, {
      timeoutMs: 20_000,
      what: 'the watcher on C to catch up after NATS came back',
    });
    const { steps, cursorJumps } = seen(onC);
    expect(cursorJumps).toEqual([]);
    expect(steps).toEqual(allSteps);
  }, 120_000);
});
