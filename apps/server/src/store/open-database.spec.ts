import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from './open-database';
import { bareSessionRow } from '../../test/store-engines';

describe('openDatabase (SQLite)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'store-open-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the schema in WAL mode with big pages, and opens it again without redoing migrations', async () => {
    const first = await openDatabase({ engine: 'sqlite', dataDir: dir });
    expect(first.sqlite?.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(first.sqlite?.pragma('page_size', { simple: true })).toBe(8192);
    await first.db.insertInto('sessions').values(bareSessionRow('a')).execute();
    await first.close();
    const second = await openDatabase({ engine: 'sqlite', dataDir: dir });
    const rows = await second.db.selectFrom('sessions').select(['id', 'last_sequence']).execute();
    expect(rows).toEqual([{ id: 'a', last_sequence: 0 }]);
    await second.close();
  });
});
