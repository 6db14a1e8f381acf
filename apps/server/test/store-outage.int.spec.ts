import { sql } from 'kysely';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { unhealthyReason } from './harness';
import { ResumingTrainer, storedLossSteps, throwIfExited } from './resuming-trainer';
import {
  POSTGRES_WITH_FRAMES_DIR,
  STORE_ENGINES,
  type StoreEngineFixture,
  type TestStore,
} from './store-engines';

/** Messages in the run: streaming before, during and after the outage. */
const MESSAGES = 600;

/**
 * PostgreSQL stopped under the built server while a trainer streams to it
 * (60 batches a second with 16 images): commits are in flight when the
 * connections drop. The process must stay up, say NOT_SERVING, and once
 * PostgreSQL is back acknowledge and store every message exactly once.
 */
describe.each(
  [...STORE_ENGINES, POSTGRES_WITH_FRAMES_DIR].filter(([name]) => name.startsWith('PostgreSQL')),
)('PostgreSQL stopped under a streaming server process, %s', (_name, makeFixture) => {
  const fixture: StoreEngineFixture = makeFixture();
  let store: TestStore | undefined;
  let server: ServerProcess | undefined;
  let trainer: ResumingTrainer | undefined;

  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  afterEach(async () => {
    trainer?.stop();
    if (server?.child.exitCode === null) await server.stop();
    store?.remove();
  });

  it('a connection held when PostgreSQL stops tells its holder, and nothing is thrown past it', async () => {
    const postgres = fixture.postgres;
    if (postgres === undefined || !postgres.ownServer) return; // an outside server cannot be stopped
    store = await fixture.newStore();
    const open = await store.open();
    try {
      // What a commit does: a connection of the pool held across awaits (a transaction).
      const outcome = await open.db.connection().execute(async (connection) => {
        await sql`select 1`.execute(connection);
        await postgres.stop();
        await new Promise((resolve) => setTimeout(resolve, 500));
        return sql`select 1`.execute(connection).then(
          () => 'answered',
          (error: Error) => error.message,
        );
      });
      expect(outcome).toMatch(/terminat|not queryable|connection/i);
    } finally {
      await postgres.start();
      await open.close();
    }
  }, 60_000);

  it('the process stays up and says why; afterwards every message is acknowledged and stored once', async () => {
    const postgres = fixture.postgres;
    if (postgres === undefined || !postgres.ownServer) return; // an outside server cannot be stopped
    store = await fixture.newStore();
    const started = await startServerProcess({ env: store.env });
    server = started;
    const alive = () => throwIfExited(started);
    const run = new ResumingTrainer(() => started.grpcAddress, 'outage-run', MESSAGES);
    trainer = run;
    await run.start();
    await waitFor(() => run.acked.size >= 100, { what: '100 messages acknowledged' });

    await postgres.stop();
    const reason = await unhealthyReason(started.httpUrl, 'while PostgreSQL is stopped', {
      check: alive,
    });
    expect(reason).toMatch(/^store: /);
    const ackedDuringOutage = run.acked.size;
    // The trainer keeps streaming into the outage for a while: nothing more is acknowledged.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    alive();
    expect(run.acked.size - ackedDuringOutage).toBeLessThanOrEqual(0);

    await postgres.start();
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

    expect(await storedLossSteps(await store.open(), 'outage-run')).toEqual([
      ...Array(MESSAGES).keys(),
    ]);
  }, 120_000);
});
