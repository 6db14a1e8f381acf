import { mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  runAdminCommand,
  grpcDashboard,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';
import { fillDisk, mountSmallDisk, skippedWithoutMount, unmountSmallDisk } from './small-disk';
import { STORE_ENGINES, type TestStore } from './store-engines';

const BATCHES = 2000;
const METRICS = Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`m${index}`, index]));

/** A run of BATCHES batches with 20 named values each, ended. */
async function recordRun(server: TestServer, sessionId: string): Promise<void> {
  const telemetry = telemetryClient(server.grpcAddress);
  try {
    const registered = await register(telemetry, {
      sessionId,
      config: { totalEpochs: 1, batchesPerEpoch: BATCHES, batchSize: 1 },
    });
    const stream = new TrainerStreamClient(telemetry, sessionId, registered.resumeToken);
    for (let index = 0; index < BATCHES; index++) {
      stream.batch(BigInt(index + 1), 0, index, { metrics: METRICS });
    }
    await stream.waitForAck(BigInt(BATCHES), 30_000);
    expect(stream.errors()).toEqual([]);
    stream.end();
    await stream.waitForStatus();
  } finally {
    telemetry.close();
  }
}

/** `npm run admin -- vacuum`: a deleted run's space given back; the runs left read as before. */
describe.each(STORE_ENGINES)('npm run admin -- vacuum on %s', (name, makeFixture) => {
  const fixture = makeFixture();
  let store: TestStore;
  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  afterEach(() => store.remove());

  it('gives a deleted run back its space; the kept run reads as before', async () => {
    store = await fixture.newStore();
    let server = await startTestServer(store.env);
    let kept;
    try {
      await recordRun(server, 'kept');
      await recordRun(server, 'deleted');
      const dashboard = grpcDashboard(server.grpcAddress);
      try {
        await dashboard.deleteSession({ sessionId: 'deleted' });
        kept = await dashboard.querySeries({ sessionId: 'kept' });
      } finally {
        dashboard.close();
      }
    } finally {
      await server.shutdown();
    }
    expect(kept.series).toHaveLength(21);

    const vacuumed = await runAdminCommand(store.env, ['vacuum']);
    expect(vacuumed.code).toBe(0);
    const engine = name === 'SQLite' ? 'SQLite' : 'PostgreSQL';
    const [, before, after] =
      new RegExp(
        `^vacuumed the ${engine} store: ([0-9.]+) MB before, ([0-9.]+) MB after, in [0-9.]+ s$`,
      ).exec(vacuumed.out[0] ?? '') ?? [];
    expect(before).toBeDefined();
    // SQLite rewrites the file without the deleted run's pages; PostgreSQL marks them reusable.
    if (name === 'SQLite') expect(Number(after)).toBeLessThan(Number(before) * 0.75);

    server = await startTestServer(store.env);
    const dashboard = grpcDashboard(server.grpcAddress);
    try {
      const listed = await dashboard.listSessions({});
      expect(listed.sessions.map((session) => session.sessionId)).toEqual(['kept']);
      expect(await dashboard.querySeries({ sessionId: 'kept' })).toEqual(kept);
    } finally {
      dashboard.close();
      await server.shutdown();
    }
  }, 120_000);
});

/**
 * `vacuum` beside a running server whose WAL is being read: VACUUM writes
 * the compacted database into the WAL, which cannot be truncated while a
 * connection reads from it. The figures it reports are still the store's.
 */
describe('npm run admin -- vacuum while the WAL is read (SQLite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-vacuum-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("reports the compacted size as after, and says the file shrinks to it at the server's next checkpoint", async () => {
    const env = { STORE_ENGINE: 'sqlite', DATA_DIR: dataDir };
    const server = await startTestServer(env);
    const file = join(dataDir, 'trainwatch.sqlite');
    // A connection in a read transaction on the WAL, as a server's read or stream holds one.
    const reader = new BetterSqlite3(file, { readonly: true });
    let vacuumed;
    try {
      await recordRun(server, 'kept');
      await recordRun(server, 'deleted');
      const dashboard = grpcDashboard(server.grpcAddress);
      try {
        await dashboard.deleteSession({ sessionId: 'deleted' });
      } finally {
        dashboard.close();
      }
      reader.exec('begin');
      reader.prepare('select count(*) from sessions').get();
      vacuumed = await runAdminCommand(env, ['vacuum']);
    } finally {
      reader.close();
      await server.shutdown();
    }
    expect(vacuumed.code).toBe(0);
    const [, before, after] =
      /^vacuumed the SQLite store: ([0-9.]+) MB before, ([0-9.]+) MB after, in [0-9.]+ s$/.exec(
        vacuumed.out.find((line) => line.startsWith('vacuumed')) ?? '',
      ) ?? [];
    expect(Number(after)).toBeLessThan(Number(before) * 0.75);
    expect(vacuumed.out.at(-1)).toMatch(
      new RegExp(
        `^the WAL could not be truncated: the server running on DATA_DIR was reading from it. The store takes [0-9.]+ MB on disk \\(file and WAL\\) until that server's next checkpoint copies the WAL back; the file then shrinks to ${after} MB$`,
      ),
    );
    // The server's last checkpoint at shutdown copied the WAL back: the file is what "after" said.
    expect((statSync(file).size / 1e6).toFixed(1)).toBe(after);
  }, 120_000);
});

/**
 * `vacuum` on a SQLite store whose disk is full, which is when a user reaches
 * for it: it says why it cannot and how much room it needs, and the store is
 * as it was.
 */
describe('npm run admin -- vacuum on a full disk (SQLite)', () => {
  it('exits 1 saying how much room VACUUM needs; the store reads as before', async () => {
    const { dir: disk, why } = mountSmallDisk(16 * 1024 * 1024);
    if (disk === undefined) return skippedWithoutMount(why);
    try {
      const env = { STORE_ENGINE: 'sqlite', DATA_DIR: join(disk, 'data') };
      let server = await startTestServer(env);
      try {
        await recordRun(server, 'kept');
      } finally {
        await server.shutdown();
      }
      const filler = fillDisk(disk, 160 * 1024);

      const vacuumed = await runAdminCommand(env, ['vacuum']);
      expect(vacuumed.code).toBe(1);
      expect(vacuumed.out.at(-1)).toMatch(
        new RegExp(
          `^admin: the disk holding DATA_DIR \\(${env.DATA_DIR}\\) is full \\(database or disk is full\\): VACUUM writes the compacted database \\(up to [0-9.]+ MB\\) before it gives anything back; make that much room there \\(deleting runs frees their image frames at once\\) and run it again$`,
        ),
      );

      unlinkSync(filler);
      server = await startTestServer(env);
      const dashboard = grpcDashboard(server.grpcAddress);
      try {
        expect((await dashboard.querySeries({ sessionId: 'kept' })).series).toHaveLength(21);
      } finally {
        dashboard.close();
        await server.shutdown();
      }
    } finally {
      unmountSmallDisk(disk);
    }
  }, 120_000);
});
