import { SeriesKind } from '@trainwatch/proto';
import { Migrator, sql } from 'kysely';
import { migrationProvider } from '../src/store/migrations';
import type { OpenDatabase } from '../src/store/open-database';
import { blockRows, planBlocks } from '../src/store/series-blocks';
import { toStoredValue } from '../src/store/series-value';
import { StoreReads } from '../src/store/store-reads';
import { newSeries, random, reference, store, type Point } from './series-points';
import { STORE_ENGINES, type StoreEngineFixture, type TestStore } from './store-engines';

/** The block sizes migrations add to stores written before them (0095: 512; 0105: the rest). */
const MIGRATED_SIZES = [128, 256, 512, 1024, 2048];

/** Aggregated windows equal the raw-points answer, on both engines. */
describe.each(STORE_ENGINES)('series blocks on %s', (_name, makeFixture) => {
  const fixture: StoreEngineFixture = makeFixture();
  let testStore: TestStore;
  let open: OpenDatabase;
  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  beforeEach(async () => {
    testStore = await fixture.newStore();
    open = await testStore.open();
  });
  afterEach(async () => {
    await open.close();
    testStore.remove();
  });

  it('answers long windows from blocks exactly as the raw points would, NaN, ±Infinity, repeated and out-of-order steps included', async () => {
    const next = random(13);
    const row = await open.db
      .insertInto('sessions')
      .values({
        id: 'r',
        created_at_ms: 1,
        last_update_ms: 1,
        last_seen_ms: 1,
        status: 1,
        connection: 1,
      })
      .execute()
      .then(() =>
        open.db
          .insertInto('series')
          .values({ session_id: 'r', name: 'loss', kind: SeriesKind.STEP })
          .returning('id')
          .executeTakeFirstOrThrow(),
      );
    const seriesId = Number(row.id);
    const points: Point[] = [];
    let step = 0;
    let wall = 1_000;
    while (step < 300_000) {
      const roll = next();
      const value =
        roll < 0.01
          ? Number.NaN
          : roll < 0.012
            ? Number.POSITIVE_INFINITY
            : roll < 0.014
              ? Number.NEGATIVE_INFINITY
              : Math.round((next() - 0.5) * 1e6) / 1e3;
      points.push({ seriesId, step, value, wallMs: wall++ });
      // Mostly consecutive steps, some gaps, some steps logged twice.
      const gap = next();
      step += gap < 0.05 ? 0 : gap < 0.1 ? 1 + Math.floor(next() * 300) : 1;
    }
    // A few late points for steps already stored (a trainer that went back).
    for (let late = 0; late < 50; late++) {
      points.push({
        seriesId,
        step: Math.floor(next() * 300_000),
        value: late % 7 === 0 ? Number.NaN : next() * 10,
        wallMs: wall++,
      });
    }
    await store(open, points, 5_000);
    const reads = new StoreReads(open.db);
    const series = { id: seriesId, name: 'loss', kind: SeriesKind.STEP };
    const windows: [number, number | undefined, number][] = [
      [0, undefined, 2_000],
      [0, undefined, 100],
      [12_345, 250_001, 2_000],
      [70_001, 140_000, 1_000],
      [1, 299_999, 3],
      [100_000, 299_000, 777],
      // 512-step buckets read as one 512-step block each (checked below).
      [0, undefined, 586],
      [12_345, 250_001, 465],
    ];
    const newest = Math.max(...points.map((point) => point.step));
    expect(planBlocks(0, newest, 586)).toMatchObject({ size: 512, width: 512 });
    const answersMatch = async () => {
      for (const [from, to, maxPoints] of windows) {
        const answer = await reads.seriesWindow(series, from, to, maxPoints);
        const expected = reference(points, from, to ?? Number.MAX_SAFE_INTEGER, maxPoints);
        expect(answer.exact).toBe(false);
        expect(answer.totalPoints).toBe(expected.total);
        expect(answer.buckets.length).toBeLessThanOrEqual(maxPoints);
        expect(answer.buckets).toEqual(expected.buckets);
      }
    };
    await answersMatch();
    // A store from before the levels between 64 and 4096 steps: the
    // migrations compute them from the 64-step rows, and the answers are the same.
    const between = () =>
      open.db
        .selectFrom('series_blocks')
        .selectAll()
        .where('block_size', 'in', MIGRATED_SIZES)
        .orderBy('block_size')
        .orderBy('block_start')
        .execute();
    const written = await between();
    expect(written.filter((block) => block.block_size === 128).length).toBeGreaterThan(1_000);
    const migrator = new Migrator({ db: open.db, provider: migrationProvider(open.engine) });
    expect((await migrator.migrateTo('0085-image-frames-in-files')).error).toBeUndefined();
    expect(await between()).toHaveLength(0);
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    const migrated = await between();
    for (const size of MIGRATED_SIZES) {
      const before = written.filter((block) => block.block_size === size);
      const after = migrated.filter((block) => block.block_size === size);
      // The same closed blocks, but for one whose last 64-step block had no point (a gap at its end).
      expect(after.length).toBeGreaterThanOrEqual(before.length - 1);
      expect(after).toEqual(before.slice(0, after.length));
    }
    await answersMatch();
    // A small window is still bucketed from the raw points, exactly as before.
    const small = await reads.seriesWindow(series, 1_000, 1_099, 1_000);
    expect(small.exact).toBe(true);
  }, 120_000);

  it('computes the blocks of runs stored before the blocks existed when migrating', async () => {
    const migrator = new Migrator({ db: open.db, provider: migrationProvider(open.engine) });
    const down = await migrator.migrateTo('0001-initial');
    expect(down.error).toBeUndefined();
    const points: Point[] = [];
    for (let step = 0; step < 10_000; step++) {
      const value = step % 97 === 0 ? Number.NaN : Math.sin(step) * 100;
      points.push({ seriesId: 1, step, value, wallMs: 5_000 + step });
      if (step % 1_000 === 0) points.push({ seriesId: 2, step, value: step, wallMs: step });
    }
    for (let start = 0; start < points.length; start += 2_000) {
      await open.db
        .insertInto('points')
        .values(
          points.slice(start, start + 2_000).map((point) => ({
            series_id: point.seriesId,
            step: point.step,
            value: toStoredValue(point.value),
            wall_ms: point.wallMs,
          })),
        )
        .execute();
    }
    const up = await migrator.migrateToLatest();
    expect(up.error).toBeUndefined();
    const stored = await open.db
      .selectFrom('series_blocks')
      .selectAll()
      .orderBy('series_id')
      .orderBy('block_size')
      .orderBy('block_start')
      .execute();
    // 0002 stored every block of 64 and 4096 steps, the open ones too; 0095
    // and 0105 the blocks of the sizes between that end at or below the
    // 64-step watermark (closed, so whole).
    const fine = blockRows(points).filter((row) => row.size === 64);
    const watermark = (seriesId: number) =>
      Math.max(...fine.filter((row) => row.seriesId === seriesId).map((row) => row.start + 64));
    const expected = blockRows(points)
      .filter(
        (row) =>
          !MIGRATED_SIZES.includes(row.size) || row.start + row.size <= watermark(row.seriesId),
      )
      .sort((a, b) => a.seriesId - b.seriesId || a.size - b.size || a.start - b.start);
    expect(expected.filter((row) => row.size === 512)).toHaveLength(19 + 9);
    expect(expected.filter((row) => row.size === 2048)).toHaveLength(4 + 4);
    expect(
      stored.map((row) => ({
        seriesId: Number(row.series_id),
        size: Number(row.block_size),
        start: Number(row.block_start),
        firstStep: Number(row.first_step),
        lastStep: Number(row.last_step),
        count: Number(row.point_count),
        nans: Number(row.nan_count),
        min: row.min_v ?? Number.NaN,
        max: row.max_v ?? Number.NaN,
        last: row.last_value ?? Number.NaN,
        lastWallMs: Number(row.last_wall_ms),
      })),
    ).toEqual(expected);
  });
});

/**
 * PostgreSQL reads a window's blocks from series_blocks' primary key alone
 * (migration 0125): the heap holds every level's rows in the order they
 * closed, so one level's rows are spread over many more pages than the index.
 */
describe('series blocks on PostgreSQL', () => {
  const fixture = STORE_ENGINES.find(([name]) => name === 'PostgreSQL')![1]();
  let open: OpenDatabase;
  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  beforeEach(async () => {
    open = await (await fixture.newStore()).open();
  });
  afterEach(() => open.close());

  it('answers a window of blocks with an index-only scan', async () => {
    const id = await newSeries(open);
    const points: Point[] = [];
    for (let step = 0; step < 20_000; step++) {
      points.push({ seriesId: id, step, value: Math.cos(step), wallMs: step });
    }
    await store(open, points, 5_000);
    // Index-only scans skip the heap only for pages the visibility map marks all-visible.
    await sql`vacuum analyze series_blocks`.execute(open.db);
    const plan = await open.db.connection().execute(async (connection) => {
      // The planner's choice between index and heap scans is not the question: the columns are.
      await sql`set enable_seqscan = off`.execute(connection);
      await sql`set enable_bitmapscan = off`.execute(connection);
      const explained = await sql<{ 'QUERY PLAN': string }>`
        explain select block_start, first_step, last_step, point_count, nan_count, min_v, max_v,
          last_value, last_wall_ms
        from series_blocks where series_id = ${id} and block_size = 64
          and block_start >= 0 and block_start <= 19968 order by block_start`.execute(connection);
      await sql`reset all`.execute(connection);
      return explained.rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('Index Only Scan using series_blocks_pk');
  });
});
