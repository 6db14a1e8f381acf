import { sql } from 'kysely';
import type { OpenDatabase } from '../src/store/open-database';
import { STORE_ENGINES } from './store-engines';

/** Past node-postgres' default idle timeout (10 s), after which it closes an idle connection. */
const IDLE_PAUSE_MS = 11_000;

const [, postgresFixture] = STORE_ENGINES.find(([name]) => name === 'PostgreSQL')!;

/**
 * The store keeps its PostgreSQL connections through idle pauses: a new
 * backend is slow until it has touched the pages a query reads, so a chart
 * zoomed after a pause should not pay for a new connection.
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

  const backend = async (): Promise<number> =>
    (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(open.db)).rows[0]!.pid;

  it('reads on the same backend after an idle pause longer than 10 s', async () => {
    const before = await backend();
    await new Promise((resolve) => setTimeout(resolve, IDLE_PAUSE_MS));
    expect(await backend()).toBe(before);
  }, 30_000);
});
