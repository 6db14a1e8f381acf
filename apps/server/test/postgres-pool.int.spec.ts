import { waitFor } from '@trainwatch/testing';
import { sql } from 'kysely';
import { POSTGRES_POOL_SIZE, type OpenDatabase } from '../src/store/open-database';
import { STORE_ENGINES } from './store-engines';

/** Past node-postgres' default idle timeout (10 s), after which it closes an idle connection. */
const IDLE_PAUSE_MS = 11_000;

const [, postgresFixture] = STORE_ENGINES.find(([name]) => name === 'PostgreSQL')!;

/**
 * The store opens its PostgreSQL connections when it opens and keeps them
 * through idle pauses: a read that waits for a new backend, or runs on one
 * that has not yet touched the pages it reads, is slow, so the first
 * dashboard reads after a start or a pause should not pay for either.
 */
describe('PostgreSQL connection pool', () => {
  const engine = postgresFixture();
  let open: OpenDatabase;

  beforeAll(() => engine.setUp(), 60_000);
  afterAll(() => engine.tearDown());
  beforeEach(async () => {
    open = await (await engine.newStore()).open();
  });
  afterEach(() => open.close());

  /** Backends connected to the store's database, by pid. */
  const backends = async (): Promise<number[]> => {
    const { rows } = await sql<{ pid: number }>`
      select pid from pg_stat_activity where datname = current_database() order by pid`.execute(
      open.db,
    );
    return rows.map((row) => row.pid);
  };

  it('opens every pool connection at start and keeps them through a pause longer than 10 s', async () => {
    const opened = await waitFor(
      async () => {
        const pids = await backends();
        return pids.length === POSTGRES_POOL_SIZE && pids;
      },
      { what: `${POSTGRES_POOL_SIZE} connections open` },
    );
    await new Promise((resolve) => setTimeout(resolve, IDLE_PAUSE_MS));
    expect(await backends()).toEqual(opened);
  }, 30_000);
});
