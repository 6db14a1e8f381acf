import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '@trainwatch/testing';
import { TrainingStatus } from '@trainwatch/proto';
import { sql } from 'kysely';
import { openDatabase } from '../src/store/open-database';
import {
  runAdminCommand,
  grpcDashboard,
  makeJpeg,
  readEverything,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
} from './harness';

const BATCHES = 600;
const jpeg = makeJpeg(8, 8);

/**
 * `npm run admin -- copy-store`: a SQLite store into an empty PostgreSQL
 * database, frames into its rows or into a frames folder. A server on the
 * copy reads every run as the SQLite server does, a trainer resumes its run
 * there with nothing doubled, and new rows get ids of their own.
 */
describe('npm run admin -- copy-store', () => {
  let postgres: TestPostgres;
  const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-copy-'));
  const framesDir = mkdtempSync(join(tmpdir(), 'trainwatch-copy-frames-'));
  let resumeToken = '';
  let expected: Awaited<ReturnType<typeof readEverything>>;

  beforeAll(async () => {
    postgres = await startPostgres();
    // A SQLite store with a run (a named metric, images, an epoch, a NaN alert) and a user.
    expect(
      (await runAdminCommand({ DATA_DIR: dataDir }, ['create-user', 'ada', '--role', 'operator']))
        .code,
    ).toBe(0);
    const server = await startTestServer({ DATA_DIR: dataDir });
    const telemetry = telemetryClient(server.grpcAddress);
    try {
      const registered = await register(telemetry, {
        sessionId: 'moved',
        config: { totalEpochs: 2, batchesPerEpoch: BATCHES, batchSize: 4, classNames: ['a', 'b'] },
        metadata: { tags: ['copied'], note: 'from SQLite' },
      });
      resumeToken = registered.resumeToken;
      const stream = new TrainerStreamClient(telemetry, 'moved', resumeToken);
      stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
      for (let index = 0; index < BATCHES; index++) {
        stream.batch(BigInt(index + 2), 0, index, {
          batchLoss: 1 / (1 + index),
          metrics: { lr: index === 7 ? Number.NaN : 0.001 * index },
          images: [{ imageBytes: jpeg, format: 'jpeg', width: 8, height: 8, channels: 3 }],
          predictions: [{ predictedClass: index % 2, confidence: 0.5 }],
          groundTruth: [1],
        });
      }
      const last = BigInt(BATCHES + 2);
      stream.send(last, {
        case: 'epochData',
        value: { epoch: 0, averageLoss: 0.5, averageAccuracy: 0.5 },
      });
      await stream.waitForAck(last, 20_000);
      expect(stream.errors()).toEqual([]);
      stream.end();
      await stream.waitForStatus();
    } finally {
      telemetry.close();
      await server.shutdown();
    }
    // What a server on the SQLite store answers, after a restart.
    const again = await startTestServer({ DATA_DIR: dataDir });
    const dashboard = grpcDashboard(again.grpcAddress);
    try {
      expected = await readEverything(dashboard);
    } finally {
      dashboard.close();
      await again.shutdown();
    }
    // Retention thinned the frames: some, not all 600, and every one in a segment file.
    expect(expected[0]?.frames.length).toBeGreaterThan(256);
    expect(expected[0]?.frames.length).toBeLessThan(BATCHES);
  }, 120_000);

  afterAll(async () => {
    await postgres?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(framesDir, { recursive: true, force: true });
  });

  it.each([
    ['into rows', false],
    ['into a frames folder', true],
  ])(
    'copies every run and user %s; a server on the copy reads the same, a trainer resumes with nothing doubled',
    async (_label, withFrames) => {
      const url = await postgres.createDatabase();
      const copied = await runAdminCommand({ DATA_DIR: dataDir }, [
        'copy-store',
        '--to',
        url,
        ...(withFrames ? ['--frames-dir', framesDir] : []),
      ]);
      expect(copied.code).toBe(0);
      const frameCount = expected[0]?.frames.length ?? 0;
      expect(copied.out).toContain(`  image_frames: ${frameCount} rows`);
      const points = (expected[0]?.series ?? []).reduce(
        (sum, series) => sum + Number(series.totalPoints),
        0,
      );
      expect(copied.out.join('\n')).toContain(
        `copied 1 runs, ${points.toLocaleString('en-US')} points, ${frameCount} image frames and 1 users`,
      );
      if (withFrames) expect(readdirSync(join(framesDir, 'run-moved')).length).toBeGreaterThan(0);

      // Each identity sequence is past the copied ids (a new row would otherwise collide, fail its
      // commit, and be retried until the sequence got there).
      const copy = await openDatabase({ engine: 'postgres', url });
      try {
        for (const table of ['status_events', 'series', 'epochs', 'performance']) {
          const { rows } = await sql<{ next: number; max: number | null }>`
            select nextval(pg_get_serial_sequence(${table}, 'id')) as next,
                   (select max(id) from ${sql.table(table)}) as max`.execute(copy.db);
          expect(Number(rows[0]?.next)).toBeGreaterThan(Number(rows[0]?.max ?? 0));
        }
      } finally {
        await copy.close();
      }

      // Copying again into the same database is refused; it is left as it was.
      const again = await runAdminCommand({ DATA_DIR: dataDir }, ['copy-store', '--to', url]);
      expect(again.code).toBe(1);
      expect(again.out.at(-1)).toBe(
        'admin: the target database already holds 1 runs and 1 users; copy-store fills an empty database only',
      );

      const env = { DATABASE_URL: url, ...(withFrames ? { FRAMES_DIR: framesDir } : {}) };
      const server = await startTestServer(env);
      const dashboard = grpcDashboard(server.grpcAddress);
      const telemetry = telemetryClient(server.grpcAddress);
      try {
        expect(await readEverything(dashboard)).toEqual(expected);
        expect((await runAdminCommand(env, ['list'])).out).toEqual(['user ada operator']);

        // The trainer comes back to the copy: its last sequence is known, the next batch is new.
        await register(telemetry, {
          sessionId: 'moved',
          config: { totalEpochs: 2, batchesPerEpoch: BATCHES, batchSize: 4 },
        });
        const stream = new TrainerStreamClient(telemetry, 'moved', resumeToken);
        const last = BigInt(BATCHES + 2);
        stream.batch(last, 0, BATCHES - 1);
        stream.batch(last + 1n, 1, 0, { batchLoss: 0.01, metrics: { momentum: 0.9 } });
        await stream.waitForAck(last + 1n);
        expect(stream.acks().map((ack) => [ack.sequence, ack.duplicate])).toEqual([
          [last, true],
          [last + 1n, false],
        ]);
        // A new series and a new run: ids past the copied ones.
        const other = await register(telemetry, { sessionId: 'new-run' });
        const otherStream = new TrainerStreamClient(telemetry, 'new-run', other.resumeToken);
        otherStream.batch(1n, 0, 0, { metrics: { acc: 0.5 } });
        await otherStream.waitForAck(1n);
        stream.end();
        otherStream.end();
        const series = await dashboard.querySeries({ sessionId: 'moved' });
        expect(series.series.find((one) => one.name === 'loss')?.totalPoints).toBe(
          BigInt(BATCHES + 1),
        );
        expect(series.series.find((one) => one.name === 'momentum')?.totalPoints).toBe(1n);
        const newRun = await dashboard.querySeries({ sessionId: 'new-run' });
        expect(newRun.series.map((one) => one.name)).toEqual(['acc', 'loss']);
      } finally {
        telemetry.close();
        dashboard.close();
        await server.shutdown();
      }
    },
    120_000,
  );

  it('refuses what it cannot copy, saying why', async () => {
    expect((await runAdminCommand({ DATA_DIR: dataDir }, ['copy-store'])).out).toEqual([
      'admin: copy-store --to <postgres://user:password@host:5432/database> [--frames-dir <dir>]',
    ]);
    const missing = join(dataDir, 'nothing-here');
    const none = await runAdminCommand({ DATA_DIR: missing }, ['copy-store', '--to', postgres.url]);
    expect(none.code).toBe(2);
    expect(none.out).toEqual([
      `admin: no SQLite store at ${join(missing, 'trainwatch.sqlite')} (set DATA_DIR to the folder that holds it)`,
    ]);
    const fromPostgres = await runAdminCommand({ DATABASE_URL: postgres.url }, [
      'copy-store',
      '--to',
      postgres.url,
    ]);
    const unreachable = await runAdminCommand({ DATA_DIR: dataDir }, [
      'copy-store',
      '--to',
      'postgres://someone:secret@127.0.0.1:1/nowhere',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.out.at(-1)).toMatch(
      /^admin: cannot open postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere: cannot reach PostgreSQL at 127\.0\.0\.1:1\/nowhere \(--to\): .*ECONNREFUSED/,
    );
    expect(fromPostgres.out[0]).toMatch(
      /copies a SQLite store \(DATA_DIR\); these settings name postgres/,
    );
  });
});
