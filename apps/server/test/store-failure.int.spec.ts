import { HealthCheckResponse_ServingStatus as ServingStatus } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { STORE_DATABASE, type StoreDatabase } from '../src/store/store-database';
import type { OpenDatabase } from '../src/store/open-database';
import {
  grpcDashboard,
  healthCheck,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
  unhealthyReason,
} from './harness';
import {
  POSTGRES_WITH_FRAMES_DIR,
  STORE_ENGINES,
  type StoreEngineFixture,
  type TestStore,
} from './store-engines';

/** The value of one sample line (`name value`) of /metrics, or undefined. */
async function metric(server: TestServer, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Batches sent in all: some before the failure, some during it, some after recovery. */
const BATCHES = 90;

/** How the store breaks and heals on each engine. */
interface Breakage {
  what: string;
  reason: RegExp;
  break(server: TestServer, fixture: StoreEngineFixture): Promise<void>;
  heal(server: TestServer, fixture: StoreEngineFixture): Promise<void>;
}

const POSTGRES_STOPPED: Breakage = {
  what: 'PostgreSQL is stopped',
  // Which database, from DATABASE_URL without its credentials, then pg's own words.
  reason: /^store: PostgreSQL at 127\.0\.0\.1:\d+\/\w+ is unavailable: .+/,
  break: (_server, fixture) => fixture.postgres?.stop() ?? Promise.resolve(),
  heal: (_server, fixture) => fixture.postgres?.start() ?? Promise.resolve(),
};

const BREAKAGE: Record<StoreEngineFixture['name'], Breakage> = {
  SQLite: {
    // A full disk, as SQLite sees it: the database may not grow by another page.
    what: 'the disk is full',
    // Which folder, SQLite's words, and how much waits for the room.
    reason:
      /^store: the disk holding DATA_DIR \(\/.+\) is full \(database or disk is full\): \d+(\.\d)? [kM]B of trainer messages wait to be written, and acks resume by themselves once they fit$/,
    // Set on the connection that commits: the write thread's (the default) and the main one.
    break: async (server) => {
      const open = server.app.get<symbol, StoreDatabase>(STORE_DATABASE) as OpenDatabase;
      const pages = open.sqlite?.pragma('page_count', { simple: true }) as number;
      open.sqlite?.pragma(`max_page_count = ${pages}`);
      open.writeThread?.setMaxPageCount(pages);
    },
    heal: async (server) => {
      const open = server.app.get<symbol, StoreDatabase>(STORE_DATABASE) as OpenDatabase;
      open.sqlite?.pragma('max_page_count = 1073741823');
      open.writeThread?.setMaxPageCount(1073741823);
    },
  },
  PostgreSQL: POSTGRES_STOPPED,
  'PostgreSQL with FRAMES_DIR': POSTGRES_STOPPED,
};

describe.each([...STORE_ENGINES, POSTGRES_WITH_FRAMES_DIR])(
  'store failure on %s',
  (_name, makeFixture) => {
    const fixture = makeFixture();
    let store: TestStore;
    let server: TestServer;

    beforeAll(() => fixture.setUp(), 60_000);
    afterAll(() => fixture.tearDown());
    beforeEach(async () => {
      store = await fixture.newStore();
      server = await startTestServer(store.env);
    });
    afterEach(async () => {
      await server.shutdown();
      store.remove();
    });

    it('holds acks and reports NOT_SERVING with the reason while the store fails, without crashing; acks resume and every message is stored once', async () => {
      if (fixture.postgres?.ownServer === false) return; // an outside server cannot be stopped here
      const breakage = BREAKAGE[fixture.name];
      const client = telemetryClient(server.grpcAddress);
      await register(client, {
        sessionId: 'run',
        config: { totalEpochs: 1, batchesPerEpoch: BATCHES, batchSize: 4, classNames: ['a'] },
      });
      const stream = new TrainerStreamClient(client, 'run');
      const send = (from: number, to: number) => {
        for (let index = from; index < to; index++) {
          stream.batch(BigInt(index + 1), 0, index, {
            metrics: Object.fromEntries(
              [...Array(32).keys()].map((key) => [`m${key}`, index + key / 100]),
            ),
          });
        }
      };
      send(0, 30);
      await stream.waitForAck(30n);
      expect(await metric(server, 'trainwatch_store_healthy')).toBe(1);
      expect(await metric(server, 'trainwatch_store_commit_failures_total')).toBe(0);

      await breakage.break(server, fixture);
      send(30, 60);
      const reason = await unhealthyReason(server.httpUrl, `while ${breakage.what}`, {
        timeoutMs: 10_000,
      });
      expect(reason).toMatch(/^store: /);
      expect(reason).toMatch(breakage.reason);
      expect((await healthCheck(server.grpcAddress)).status).toBe(ServingStatus.NOT_SERVING);
      // /metrics says the same, and how much waits for the store.
      expect(await metric(server, 'trainwatch_store_healthy')).toBe(0);
      expect(await metric(server, 'trainwatch_store_commit_failures_total')).toBeGreaterThan(0);
      expect(await metric(server, 'trainwatch_store_pending_bytes')).toBeGreaterThan(0);
      expect(await metric(server, 'trainwatch_store_backlog_held')).toBe(0);
      const acked = stream.acks().length;
      expect(acked).toBeLessThan(60);
      // Dashboards still answer from memory; nothing crashed.
      const dashboard = grpcDashboard(server.grpcAddress);
      expect((await dashboard.listSessions({})).sessions.map((s) => s.sessionId)).toContain('run');
      dashboard.close();

      await breakage.heal(server, fixture);
      send(60, BATCHES);
      await stream.waitForAck(BigInt(BATCHES), 15_000);
      expect(stream.acks().map((ack) => ack.sequence)).toEqual(
        [...Array(BATCHES).keys()].map((index) => BigInt(index + 1)),
      );
      expect(stream.errors()).toEqual([]);
      await waitFor(
        async () => (await healthCheck(server.grpcAddress)).status === ServingStatus.SERVING,
        {
          what: 'SERVING after recovery',
        },
      );
      expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
      expect(await metric(server, 'trainwatch_store_healthy')).toBe(1);
      await waitFor(async () => (await metric(server, 'trainwatch_store_pending_bytes')) === 0, {
        what: 'nothing pending once every ack is in',
      });

      const reader = await store.open();
      try {
        const steps = await reader.db
          .selectFrom('points')
          .innerJoin('series', 'series.id', 'points.series_id')
          .select('points.step')
          .where('series.session_id', '=', 'run')
          .where('series.name', '=', 'loss')
          .orderBy('points.step')
          .execute();
        expect(steps.map((row) => row.step)).toEqual([...Array(BATCHES).keys()]);
        const session = await reader.db
          .selectFrom('sessions')
          .select('last_sequence')
          .where('id', '=', 'run')
          .executeTakeFirstOrThrow();
        expect(session.last_sequence).toBe(BATCHES);
      } finally {
        await reader.close();
        stream.end();
        client.close();
      }
    });
  },
);
