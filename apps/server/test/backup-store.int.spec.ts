import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { TrainingStatus } from '@trainwatch/proto';
import { waitFor, WORKSPACE_ROOT } from '@trainwatch/testing';
import { FrameFiles, segmentKey } from '../src/store/frame-files';
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
/** The built admin command line (`npm run admin`), run as a process of its own to be killed. */
const ADMIN_ENTRY = join(WORKSPACE_ROOT, 'dist/apps/server/admin.js');
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
 * Puts a FIFO in place of one segment file of `sessionId` that the store's
 * rows name: a backup copying it waits on it (nobody writes), so a signal
 * sent once the database step is done always lands mid-backup. Returns how
 * to let a waiting copy go on (it then reads nothing) and how to put the
 * file back.
 */
function pauseCopyOf(dataDir: string, sessionId: string): { release(): void; restore(): void } {
  const db = new BetterSqlite3(join(dataDir, 'trainwatch.sqlite'), { readonly: true });
  const named = db
    .prepare(
      'select file_writer, file_segment from image_frames where session_id = ? and file_segment is not null order by file_segment desc limit 1',
    )
    .get(sessionId) as { file_writer: number | null; file_segment: number };
  db.close();
  const file = new FrameFiles(join(dataDir, 'frames')).segmentPath(
    sessionId,
    segmentKey(named.file_writer, named.file_segment),
  );
  renameSync(file, `${file}.held`);
  expect(spawnSync('mkfifo', [file]).status).toBe(0);
  return {
    release: () => {
      try {
        // Opening the write end lets a reader waiting in open() go on; ENXIO: nobody is reading.
        closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
      }
    },
    restore: () => {
      rmSync(file, { force: true });
      renameSync(`${file}.held`, file);
    },
  };
}

/** `backup <folder>` as a process of its own; resolves once its database step is done. */
async function startBackupProcess(
  dataDir: string,
  folder: string,
): Promise<{ child: ChildProcess; output(): string; exited: Promise<number | null> }> {
  if (!existsSync(ADMIN_ENTRY)) {
    throw new Error(`${ADMIN_ENTRY} is missing: run \`npx nx build server\` first`);
  }
  const child = spawn(process.execPath, [ADMIN_ENTRY, 'backup', folder], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, STORE_ENGINE: 'sqlite', DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waitFor(() => log.includes('  database: '), {
    timeoutMs: 20_000,
    what: `the backup's database step\n${log}`,
  });
  return { child, output: () => log, exited };
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

  it('killed outright (kill -9) half-way: nothing at the folder, no server starts on what is left, the next backup removes it', async () => {
    const folder = join(backups, 'killed');
    const leftover = `${folder}.unfinished-backup`;
    const paused = pauseCopyOf(dataDir, 'finished');
    try {
      const backup = await startBackupProcess(dataDir, folder);
      backup.child.kill('SIGKILL');
      await backup.exited;
    } finally {
      paused.restore();
    }
    // Before, the folder held the database and some segment files, and a server on it said nothing.
    expect(existsSync(folder)).toBe(false);
    expect(readdirSync(leftover)).toContain('UNFINISHED-BACKUP.txt');
    await expect(startTestServer({ DATA_DIR: leftover })).rejects.toThrow(
      `DATA_DIR ${leftover} holds a backup that did not finish (it was interrupted), not a store: run that backup again (it removes this first), or delete it`,
    );

    const made = await runAdminCommand({ DATA_DIR: dataDir }, ['backup', folder]);
    expect(made.code).toBe(0);
    expect(made.out).toContain(
      `  removed ${leftover}: a backup into ${folder} that was interrupted`,
    );
    expect(existsSync(leftover)).toBe(false);
    expect(readdirSync(folder).sort()).toEqual(['frames', 'trainwatch.sqlite']);
    const server = await startTestServer({ DATA_DIR: folder });
    const copy = grpcDashboard(server.grpcAddress);
    try {
      const runs = await readEverything(copy);
      expect(runs.map((run) => run.summary.sessionId).sort()).toEqual(['finished', 'live']);
      expect(runs.every((run) => run.summary.storedFrames === run.frames.length)).toBe(true);
    } finally {
      copy.close();
      await server.shutdown();
    }
  }, 120_000);

  it('stopped by Ctrl-C (SIGINT) half-way: exits 130 saying so, and nothing is left behind', async () => {
    const folder = join(backups, 'stopped');
    const paused = pauseCopyOf(dataDir, 'finished');
    let backup;
    let code;
    try {
      backup = await startBackupProcess(dataDir, folder);
      backup.child.kill('SIGINT');
      const running = backup;
      await waitFor(() => running.output().includes('  SIGINT: stopping'), {
        what: `the backup to take the signal\n${running.output()}`,
      });
      // The copy waiting on the paused file ends once it can read (nothing): the process can then exit.
      const exited = backup.exited;
      code = await waitFor(
        async () => {
          paused.release();
          return Promise.race([
            exited,
            new Promise<false>((resolve) => setTimeout(resolve, 50, false)),
          ]);
        },
        { timeoutMs: 20_000, what: `the backup to exit\n${backup.output()}` },
      );
    } finally {
      paused.restore();
    }
    expect(code).toBe(130);
    expect(backup.output().trim().split('\n').at(-1)).toBe(
      `admin: interrupted (SIGINT): the backup was stopped and what it had written is removed; ${folder} holds no backup`,
    );
    expect(existsSync(folder)).toBe(false);
    expect(existsSync(`${folder}.unfinished-backup`)).toBe(false);
  }, 60_000);

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
