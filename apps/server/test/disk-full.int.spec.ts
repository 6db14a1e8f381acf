import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  SERVER_ENTRY,
  startServerProcess,
  waitFor,
  WORKSPACE_ROOT,
  type ServerProcess,
} from '@trainwatch/testing';
import { openDatabase, type OpenDatabase } from '../src/store/open-database';
import { unhealthyReason } from './harness';
import { ResumingTrainer, storedLossSteps, throwIfExited } from './resuming-trainer';
import { fillDisk, mountSmallDisk, skippedWithoutMount, unmountSmallDisk } from './small-disk';
import { POSTGRES_WITH_FRAMES_DIR, type StoreEngineFixture } from './store-engines';

/** Messages in the run: before the disk fills, while it is full, and after room is made. */
const MESSAGES = 600;
/** The small file system the store runs on. */
const FILE_SYSTEM_BYTES = 32 * 1024 * 1024;
/** Room left beside the filler: less than a few commits of the run need. */
const ROOM_LEFT_BYTES = 128 * 1024;

/** The bytes a full-disk reason says wait ("123 kB", "9.3 MB"). */
function waitingBytes(reason: string | undefined): number {
  const [, amount, unit] =
    /: (\d+(?:\.\d)?) ([kM]B) of trainer messages wait/.exec(reason ?? '') ?? [];
  if (amount === undefined) throw new Error(`no amount in ${reason}`);
  return Number(amount) * (unit === 'MB' ? 1e6 : 1e3);
}

/** How each engine puts its files on the small file system, and what the reason calls it. */
interface OnSmallDisk {
  setting: 'DATA_DIR' | 'FRAMES_DIR';
  fixture?: StoreEngineFixture;
  /** The server's env with its files in `dir`, and how to open its store afterwards. */
  store(dir: string): Promise<{ env: Record<string, string>; open(): Promise<OpenDatabase> }>;
}

const SQLITE: OnSmallDisk = {
  setting: 'DATA_DIR',
  store: (dir) =>
    Promise.resolve({
      env: { STORE_ENGINE: 'sqlite', DATA_DIR: dir },
      open: () => openDatabase({ engine: 'sqlite', dataDir: dir }),
    }),
};

function postgresFrames(): OnSmallDisk {
  const fixture = POSTGRES_WITH_FRAMES_DIR[1]();
  return {
    setting: 'FRAMES_DIR',
    fixture,
    async store(dir) {
      const store = await fixture.newStore();
      store.remove(); // its own frames folder: this one's are on the small disk
      const url = store.env['DATABASE_URL']!;
      return {
        env: { STORE_ENGINE: 'postgres', DATABASE_URL: url, FRAMES_DIR: dir },
        open: () => openDatabase({ engine: 'postgres', url, framesDir: dir }),
      };
    },
  };
}

/**
 * A real full disk under a streaming server process: SQLite's DATA_DIR, or
 * PostgreSQL's FRAMES_DIR, on a small tmpfs filled up by another file while a
 * trainer streams 60 batches a second with 16 images. The segment appends
 * (and SQLite's pages) meet ENOSPC as on any full disk (the in-process
 * store-failure spec models it with SQLite's max_page_count instead). Needs a
 * tmpfs mount: root where mount is allowed.
 */
describe.each([
  ['SQLite', () => SQLITE],
  ['PostgreSQL with FRAMES_DIR', postgresFrames],
])('a full disk under a streaming server process (%s)', (_name, makeEngine) => {
  const engine = makeEngine();
  beforeAll(() => engine.fixture?.setUp(), 60_000);
  afterAll(() => engine.fixture?.tearDown());
  let mountPoint: string | undefined;
  let server: ServerProcess | undefined;
  let trainer: ResumingTrainer | undefined;

  afterEach(async () => {
    trainer?.stop();
    if (server?.child.exitCode === null) await server.stop();
    if (mountPoint !== undefined) unmountSmallDisk(mountPoint);
    mountPoint = undefined;
  });

  it('the process stays up and says which folder is full and how much waits; once there is room every message is acknowledged and stored once', async () => {
    const small = mountSmallDisk(FILE_SYSTEM_BYTES);
    if (small.dir === undefined) return skippedWithoutMount(small.why);
    mountPoint = small.dir;
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    const store = await engine.store(dataDir);
    const started = await startServerProcess({ env: store.env });
    server = started;
    const alive = () => throwIfExited(started);
    const run = new ResumingTrainer(() => started.grpcAddress, 'full-disk-run', MESSAGES);
    trainer = run;
    await run.start();
    await waitFor(() => run.acked.size >= 100, { what: '100 messages acknowledged' });

    // Another program takes all but a little of the disk.
    const filler = fillDisk(mountPoint, ROOM_LEFT_BYTES);

    const reason = await unhealthyReason(started.httpUrl, 'once the disk is full', {
      check: alive,
    });
    // The segment files' errno or SQLite's words, whichever write met the full disk first.
    expect(reason).toMatch(
      new RegExp(
        `^store: the disk holding ${engine.setting} \\(${dataDir}\\) is full \\((ENOSPC: no space left on device, write|database or disk is full)\\): \\d+(\\.\\d)? [kM]B of trainer messages wait to be written, and acks resume by themselves once they fit$`,
      ),
    );
    const ackedWhileFull = run.acked.size;
    expect(ackedWhileFull).toBeLessThan(MESSAGES);
    // The trainer streams on into the full disk: the process stays up and acknowledges nothing.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    alive();
    expect(run.acked.size).toBe(ackedWhileFull);
    // The amount follows the backlog (the reason is renewed at each retry).
    const later = (await (await fetch(`${started.httpUrl}/healthz`)).json()) as { reason?: string };
    expect(waitingBytes(later.reason)).toBeGreaterThan(waitingBytes(reason));
    const metrics = await (await fetch(`${started.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^trainwatch_store_healthy 0$/m);
    expect(Number(/^trainwatch_store_pending_bytes (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    // What an alert on the disk would have watched: the room left, next to nothing.
    expect(
      Number(/^trainwatch_store_disk_free_bytes (\d+)$/m.exec(metrics)?.[1]),
    ).toBeLessThanOrEqual(ROOM_LEFT_BYTES);

    rmSync(filler);
    await waitFor(
      () => {
        alive();
        return run.acked.size === MESSAGES;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `all ${MESSAGES} messages acknowledged` },
    );
    await waitFor(async () => (await fetch(`${started.httpUrl}/healthz`)).ok, {
      what: '/healthz 200 again',
    });
    run.stop();
    await started.stop();

    expect(await storedLossSteps(await store.open(), 'full-disk-run')).toEqual([
      ...Array(MESSAGES).keys(),
    ]);
  }, 120_000);
});

/**
 * A server started on a full disk (SQLite): it exits 1 before it listens,
 * saying which folder's disk is full, whether that is when it creates the
 * store's file or while it migrates it (the room left decides which).
 */
describe('a server started on a full disk (SQLite)', () => {
  let mountPoint: string | undefined;

  afterEach(() => {
    if (mountPoint !== undefined) unmountSmallDisk(mountPoint);
    mountPoint = undefined;
  });

  it.each([
    ['nothing', 0],
    ['8 kB', 8 * 1024],
    ['24 kB', 24 * 1024],
    ['200 kB', 200 * 1024],
  ])(
    'with %s left, it exits 1 naming the folder whose disk is full',
    async (_left, room) => {
      const small = mountSmallDisk(1024 * 1024);
      if (small.dir === undefined) return skippedWithoutMount(small.why);
      mountPoint = small.dir;
      fillDisk(mountPoint, room);
      const dataDir = join(mountPoint, 'data');
      const result = spawnSync(process.execPath, [SERVER_ENTRY], {
        cwd: WORKSPACE_ROOT,
        env: {
          ...process.env,
          HOST: '127.0.0.1',
          DATA_DIR: dataDir,
          STORE_ENGINE: 'sqlite',
          GRPC_PORT: String(await freePort()),
          HTTP_PORT: String(await freePort()),
        },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `trainwatch server: failed to start: (the disk holding DATA_DIR \\(${dataDir}\\) is full \\(.+\\): free space there and try again|DATA_DIR ${dataDir} cannot be created: its disk is full)`,
        ),
      );
    },
    30_000,
  );
});
