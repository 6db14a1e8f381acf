import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainingStatus } from '@trainwatch/proto';
import {
  runAdminCommand,
  grpcDashboard,
  makeJpeg,
  readEverything,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';
import { fillDisk, mountSmallDisk, skippedWithoutMount, unmountSmallDisk } from './small-disk';

const BATCHES = 600;
const jpeg = makeJpeg(8, 8);
const image = { imageBytes: jpeg, format: 'jpeg', width: 8, height: 8, channels: 3 };

/** A finished run of BATCHES batches, each with an image. */
async function recordRun(server: TestServer, sessionId: string): Promise<void> {
  const telemetry = telemetryClient(server.grpcAddress);
  try {
    const registered = await register(telemetry, {
      sessionId,
      config: { totalEpochs: 2, batchesPerEpoch: BATCHES, batchSize: 1, classNames: ['a', 'b'] },
    });
    const stream = new TrainerStreamClient(telemetry, sessionId, registered.resumeToken);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    for (let index = 0; index < BATCHES; index++) {
      stream.batch(BigInt(index + 2), 0, index, {
        batchLoss: 1 / (1 + index),
        metrics: { lr: 0.001 * index },
        images: [image],
        predictions: [{ predictedClass: 1, confidence: 0.5 }],
        groundTruth: [index % 2],
      });
    }
    const done = BigInt(BATCHES + 2);
    stream.send(done, { case: 'statusUpdate', value: { status: TrainingStatus.COMPLETED } });
    await stream.waitForAck(done, 20_000);
    expect(stream.errors()).toEqual([]);
    stream.end();
    await stream.waitForStatus();
  } finally {
    telemetry.close();
  }
}

/**
 * `npm run admin -- backup <folder>`: a consistent copy of a SQLite store,
 * database and image frames, made while the server runs and a trainer
 * streams images; a server started on the folder reads every run.
 */
describe('npm run admin -- backup', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-backup-'));
  const backups = mkdtempSync(join(tmpdir(), 'trainwatch-backups-'));
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(backups, { recursive: true, force: true });
  });

  it('copies a running store with a trainer streaming; a server on the copy reads every run and every frame', async () => {
    let server = await startTestServer({ DATA_DIR: dataDir });
    const folder = join(backups, 'while-running');
    let live: TrainerStreamClient | undefined;
    const telemetry = telemetryClient(server.grpcAddress);
    let timer: NodeJS.Timeout | undefined;
    try {
      await recordRun(server, 'finished');
      // A trainer streaming four batches with an image every 5 ms throughout the backup.
      const registered = await register(telemetry, {
        sessionId: 'live',
        config: { totalEpochs: 1, batchesPerEpoch: 1_000_000, batchSize: 1 },
      });
      live = new TrainerStreamClient(telemetry, 'live', registered.resumeToken);
      const stream = live;
      let sequence = 1n;
      timer = setInterval(() => {
        for (let index = 0; index < 4; index++) {
          stream.batch(sequence, 0, Number(sequence), { images: [image] });
          sequence += 1n;
        }
      }, 5);
      // Past the 256 recent steps, so retention is deleting segment files while the backup runs.
      await stream.waitForAck(400n, 20_000);
      const made = await runAdminCommand({ DATA_DIR: dataDir }, ['backup', folder]);
      expect(made.code).toBe(0);
      expect(made.out.at(-1)).toBe(`start a server on it with DATA_DIR=${folder}`);
      expect(made.out.join('\n')).toMatch(/backed up 2 runs in/);
      // The server went on acking the trainer through the backup and after it.
      await stream.waitForAck(sequence + 8n, 20_000);
    } finally {
      clearInterval(timer);
      live?.end();
      telemetry.close();
      await server.shutdown();
    }
    expect(live.errors()).toEqual([]);

    server = await startTestServer({ DATA_DIR: dataDir });
    const original = grpcDashboard(server.grpcAddress);
    let finished;
    try {
      finished = (await readEverything(original)).find(
        (run) => run.summary.sessionId === 'finished',
      );
    } finally {
      original.close();
      await server.shutdown();
    }

    server = await startTestServer({ DATA_DIR: folder });
    const copy = grpcDashboard(server.grpcAddress);
    try {
      const runs = await readEverything(copy);
      // The finished run as the store holds it; the live one up to the backup's moment, every
      // frame it lists readable (readEverything fetched each), its count what it lists.
      expect(runs.find((run) => run.summary.sessionId === 'finished')).toEqual(finished);
      const copied = runs.find((run) => run.summary.sessionId === 'live');
      expect(copied?.frames.length).toBeGreaterThan(0);
      expect(copied?.frames.every((frame) => frame?.images.length === 1)).toBe(true);
      expect(copied?.summary.storedFrames).toBe(copied?.frames.length);
      expect(copied?.summary.batchesReceived).toBeGreaterThan(0n);
    } finally {
      copy.close();
      await server.shutdown();
    }
  }, 120_000);

  it('leaves out the frames of a segment file deleted before its copy, and counts what is kept', async () => {
    // A segment file gone from the store (as retention deletes them while a backup runs).
    const runFolder = join(dataDir, 'frames', 'run-finished');
    const segments = readdirSync(runFolder).sort();
    unlinkSync(join(runFolder, segments[0] ?? ''));
    const folder = join(backups, 'one-segment-gone');
    const made = await runAdminCommand({ DATA_DIR: dataDir }, ['backup', folder]);
    expect(made.code).toBe(0);
    expect(made.out.join('\n')).toMatch(
      /image frames that aged out of retention during the backup were left out/,
    );
    const server = await startTestServer({ DATA_DIR: folder });
    const copy = grpcDashboard(server.grpcAddress);
    try {
      const [run] = (await readEverything(copy)).filter(
        (one) => one.summary.sessionId === 'finished',
      );
      expect(run?.frames.length).toBeGreaterThan(0);
      expect(run?.frames.every((frame) => frame?.images.length === 1)).toBe(true);
      expect(run?.summary.storedFrames).toBe(run?.frames.length);
    } finally {
      copy.close();
      await server.shutdown();
    }
  }, 60_000);

  it('onto a full disk fails saying so and leaves no half backup; with room, the same folder takes the whole one', async () => {
    const { dir: disk, why } = mountSmallDisk(4 * 1024 * 1024);
    if (disk === undefined) return skippedWithoutMount(why);
    try {
      const filler = fillDisk(disk, 16 * 1024);
      const folder = join(disk, 'backup');
      const failed = await runAdminCommand({ DATA_DIR: dataDir }, ['backup', folder]);
      expect(failed.code).toBe(1);
      expect(failed.out.at(-1)).toMatch(
        new RegExp(
          `^admin: the disk holding ${folder} is full \\(.+\\): the backup failed and what it had written there is removed; back up into a folder on a disk with room for the store$`,
        ),
      );
      expect(readdirSync(disk)).toEqual(['filler']);

      unlinkSync(filler);
      const made = await runAdminCommand({ DATA_DIR: dataDir }, ['backup', folder]);
      expect(made.code).toBe(0);
      expect(readdirSync(folder).sort()).toEqual(['frames', 'trainwatch.sqlite']);
    } finally {
      unmountSmallDisk(disk);
    }
  });

  it('refuses a folder in use, a PostgreSQL store and a missing one, saying why', async () => {
    const used = join(backups, 'unused');
    writeFileSync(join(backups, 'keep.txt'), 'x');
    const inUse = await runAdminCommand({ DATA_DIR: dataDir }, ['backup', backups]);
    expect(inUse.code).toBe(1);
    expect(inUse.out.at(-1)).toBe(`admin: ${backups} is not empty: back up into a new folder`);
    expect((await runAdminCommand({ DATA_DIR: dataDir }, ['backup'])).code).toBe(2);
    const postgres = await runAdminCommand({ DATABASE_URL: 'postgres://127.0.0.1:1/x' }, [
      'backup',
      used,
    ]);
    expect(postgres.out).toEqual([
      'admin: backup copies a SQLite store (DATA_DIR); these settings name postgres: back up PostgreSQL with pg_dump (and FRAMES_DIR with a copy of that folder)',
    ]);
    const missing = join(dataDir, 'nothing-here');
    expect((await runAdminCommand({ DATA_DIR: missing }, ['backup', used])).out).toEqual([
      `admin: no SQLite store at ${join(missing, 'trainwatch.sqlite')} (set DATA_DIR to the folder that holds it)`,
    ]);
  });
});
