import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { Client } from 'pg';
import { storeMigrations } from '../src/store/migrations';
import { STORE_ENGINES, type TestStore } from './store-engines';

/** The migrations recorded in a store, read without opening it as the server does. */
async function recordedMigrations(store: TestStore): Promise<string[]> {
  const query = 'select name from kysely_migration order by name';
  const url = store.env['DATABASE_URL'];
  if (url === undefined) {
    const file = new Database(join(store.env['DATA_DIR'] as string, 'trainwatch.sqlite'), {
      readonly: true,
    });
    try {
      return (file.prepare(query).all() as { name: string }[]).map((row) => row.name);
    } finally {
      file.close();
    }
  }
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ name: string }>(query)).rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

describe.each(STORE_ENGINES)(
  'a store written by a newer trainwatch, on %s',
  (_name, makeFixture) => {
    const fixture = makeFixture();
    let store: TestStore;

    beforeAll(() => fixture.setUp(), 60_000);
    afterAll(() => fixture.tearDown());
    afterEach(() => store.remove());

    it('is refused with what to do, and left as it was', async () => {
      store = await fixture.newStore();
      const first = await store.open();
      await sql`insert into kysely_migration (name, timestamp) values ('9000-from-the-future', '2030-01-01T00:00:00.000Z')`.execute(
        first.db,
      );
      await first.close();

      const known = Object.keys(storeMigrations('sqlite'));
      await expect(store.open()).rejects.toThrow(
        'the store was written by a newer trainwatch: it has migration 9000-from-the-future, ' +
          `this server knows those up to ${known[known.length - 1]}; ` +
          'run that newer version on it, or restore a backup taken before the upgrade',
      );

      // The refusal changed nothing: the unknown migration is still recorded, the known ones too.
      expect(await recordedMigrations(store)).toEqual([...known, '9000-from-the-future']);
    });
  },
);
