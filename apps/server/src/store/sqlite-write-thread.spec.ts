import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedAllocator } from './frame-encoding';
import { openDatabase, type OpenDatabase } from './open-database';
import { RawInsert } from './raw-insert';
import { StatementRecorder } from './recording-dialect';
import type { SqliteWriteThread } from './sqlite-write-thread';
import { bareSessionRow } from '../../test/store-engines';
import { newSeries } from '../../test/series-points';

describe('SQLite commits on the write thread', () => {
  let dir: string;
  let open: OpenDatabase;
  let thread: SqliteWriteThread;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'store-thread-'));
    open = await openDatabase({ engine: 'sqlite', dataDir: dir, writeThread: true });
    thread = open.writeThread as SqliteWriteThread;
  });
  afterEach(async () => {
    await open.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records what Kysely and a raw insert send, in order, without executing anything', async () => {
    const recorder = new StatementRecorder();
    const frames = new RawInsert(
      open,
      'insert into image_frames (session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame)',
      7,
    );
    const blob = sharedAllocator()(3);
    const statements = await recorder.record(async (trx) => {
      await trx.insertInto('sessions').values(bareSessionRow('a')).execute();
      await frames.run(trx, ['a', 1, 0, 1, 5, 3, blob]);
    });
    expect(statements.map(([sql]) => sql.split(' (')[0])).toEqual([
      'insert into "sessions"',
      'insert into image_frames',
    ]);
    expect(statements[1]?.[1]).toEqual(['a', 1, 0, 1, 5, 3, blob]);
    expect(await open.db.selectFrom('sessions').select('id').execute()).toEqual([]);
  });

  it('commits a job in one transaction, blobs from shared memory byte for byte', async () => {
    const recorder = new StatementRecorder();
    const frames = new RawInsert(
      open,
      'insert into image_frames (session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame)',
      7,
    );
    const allocate = sharedAllocator();
    const first = allocate(5).fill(7);
    const second = allocate(3).fill(9);
    await thread.run(
      await recorder.record(async (trx) => {
        await trx.insertInto('sessions').values(bareSessionRow('a')).execute();
        await frames.run(trx, ['a', 1, 0, 1, 5, 5, first, 'a', 2, 0, 2, 6, 3, second]);
      }),
    );
    const stored = await open.db
      .selectFrom('image_frames')
      .select(['step', 'frame'])
      .orderBy('step')
      .execute();
    expect(stored.map((row) => [row.step, [...row.frame]])).toEqual([
      [1, [7, 7, 7, 7, 7]],
      [2, [9, 9, 9]],
    ]);
  });

  it('binds rows of numbers sent as one Float64Array, NaN as NULL, on the thread and without it', async () => {
    const seriesId = await newSeries(open);
    const points = new RawInsert(open, 'insert into points (series_id, step, value, wall_ms)', 4);
    const rows = Float64Array.of(seriesId, 1, 0.5, 10, seriesId, 2, Number.NaN, 11);
    const recorder = new StatementRecorder();
    const statements = await recorder.record((trx) => points.runNumbers(trx, rows));
    // One parameter: the array itself, copied once to the thread.
    expect(statements[0]?.[1]).toEqual([rows]);
    await thread.run(statements);
    // The same rows through the main connection (a store without the thread) bind the same way.
    const direct = await openDatabase({ engine: 'sqlite', dataDir: dir });
    try {
      const again = new RawInsert(
        direct,
        'insert into points (series_id, step, value, wall_ms)',
        4,
      );
      await direct.db
        .transaction()
        .execute((trx) =>
          again.runNumbers(
            trx,
            Float64Array.of(seriesId, 3, Infinity, 12, seriesId, 4, Number.NaN, 13),
          ),
        );
    } finally {
      await direct.close();
    }
    const stored = await open.db
      .selectFrom('points')
      .select(['step', 'value', 'wall_ms'])
      .where('series_id', '=', seriesId)
      .orderBy('step')
      .execute();
    expect(stored.map((row) => [Number(row.step), row.value, Number(row.wall_ms)])).toEqual([
      [1, 0.5, 10],
      [2, null, 11],
      [3, Infinity, 12],
      [4, null, 13],
    ]);
  });

  it('rolls the whole job back when one statement fails, says why, and commits the next job', async () => {
    const recorder = new StatementRecorder();
    const failing = await recorder.record(async (trx) => {
      await trx.insertInto('sessions').values(bareSessionRow('a')).execute();
      // The same primary key again: the second insert fails, so the first must not stay.
      await trx.insertInto('sessions').values(bareSessionRow('a')).execute();
    });
    await expect(thread.run(failing)).rejects.toMatchObject({
      message: expect.stringMatching(/UNIQUE constraint failed: sessions\.id/),
      code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
    });
    expect(await open.db.selectFrom('sessions').select('id').execute()).toEqual([]);
    await thread.run(
      await recorder.record(async (trx) => {
        await trx.insertInto('sessions').values(bareSessionRow('b')).execute();
      }),
    );
    expect(await open.db.selectFrom('sessions').select('id').execute()).toEqual([{ id: 'b' }]);
  });

  it('fails a job like a full disk once the database may not grow, and commits again when it may', async () => {
    const recorder = new StatementRecorder();
    const pages = open.sqlite?.pragma('page_count', { simple: true }) as number;
    thread.setMaxPageCount(pages);
    const big = (id: string) =>
      recorder.record(async (trx) => {
        await trx
          .insertInto('image_frames')
          .values({
            session_id: id,
            step: 1,
            epoch: 0,
            batch_idx: 0,
            timestamp_ms: 1,
            bytes: 65_536,
            frame: Buffer.alloc(65_536, 1),
          })
          .execute();
      });
    await expect(thread.run(await big('a'))).rejects.toMatchObject({ code: 'SQLITE_FULL' });
    thread.setMaxPageCount(1_073_741_823);
    await thread.run(await big('b'));
    const stored = await open.db.selectFrom('image_frames').select('session_id').execute();
    expect(stored).toEqual([{ session_id: 'b' }]);
  });

  it('refuses to record a second commit while one is being recorded', async () => {
    const recorder = new StatementRecorder();
    let inner: Promise<unknown> | undefined;
    await recorder.record(async (trx) => {
      inner = recorder.record(async () => undefined);
      await trx.insertInto('sessions').values(bareSessionRow('a')).execute();
    });
    await expect(inner).rejects.toThrow(/being recorded already/);
  });
});
