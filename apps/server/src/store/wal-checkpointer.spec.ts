import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@trainwatch/testing';
import { openDatabase, SQLITE_FILE } from './open-database';

describe('WAL checkpoints on their own thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'store-wal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies committed pages into the database file while commits never checkpoint, and checkpoints at close', async () => {
    const open = await openDatabase({ engine: 'sqlite', dataDir: dir });
    const sqlite = open.sqlite!;
    // Commits on the event loop leave checkpoints to the thread.
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const file = join(dir, SQLITE_FILE);
    const before = statSync(file).size;
    const insert = sqlite.prepare(
      'insert into image_frames (session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame) values (?, ?, 0, ?, 0, ?, ?)',
    );
    sqlite.exec(
      "insert into sessions (id, created_at_ms, last_update_ms, last_seen_ms, status, connection) values ('run', 1, 1, 1, 1, 1)",
    );
    const blob = Buffer.alloc(32 * 1024, 7);
    for (let step = 0; step < 256; step++) {
      sqlite.transaction(() => insert.run('run', step, step, blob.length, blob))();
    }
    // 8 MB went to the WAL; the thread moves it into the database file without any commit doing so.
    await waitFor(() => statSync(file).size >= before + 256 * blob.length, {
      timeoutMs: 5000,
      what: 'the checkpoint thread to copy the WAL into the database file',
    });
    await open.close();
    const reopened = await openDatabase({ engine: 'sqlite', dataDir: dir });
    const [row] = await reopened.db
      .selectFrom('image_frames')
      .select((eb) => eb.fn.countAll<number>().as('frames'))
      .execute();
    expect(Number(row?.frames)).toBe(256);
    await reopened.close();
  });
});
