import { SeriesKind } from '@trainwatch/proto';
import type { OpenDatabase } from '../src/store/open-database';
import type { Transaction } from 'kysely';
import { OpenBlocks, planClosing, writeClosingBlocks } from '../src/store/closing-blocks';
import type { RawStatements } from '../src/store/raw-statement';
import type { Database } from '../src/store/schema';
import { blockRows, blockStart, type BlockRow } from '../src/store/series-blocks';
import { fromStoredValue, toStoredValue } from '../src/store/series-value';
import { StoreReads } from '../src/store/store-reads';
import { WriterState } from '../src/store/write-flush';
import { newSeries, random, reference, store, type Point } from './series-points';
import { STORE_ENGINES, type StoreEngineFixture, type TestStore } from './store-engines';

/** The stored block rows of a series, in the order blockRows gives them sorted. */
async function storedBlocks(open: OpenDatabase, seriesId: number): Promise<BlockRow[]> {
  const rows = await open.db
    .selectFrom('series_blocks')
    .selectAll()
    .where('series_id', '=', seriesId)
    .orderBy('block_size')
    .orderBy('block_start')
    .execute();
  return rows.map((row) => ({
    seriesId: Number(row.series_id),
    size: Number(row.block_size),
    start: Number(row.block_start),
    firstStep: Number(row.first_step),
    lastStep: Number(row.last_step),
    count: Number(row.point_count),
    nans: Number(row.nan_count),
    min: fromStoredValue(row.min_v),
    max: fromStoredValue(row.max_v),
    last: fromStoredValue(row.last_value),
    lastWallMs: Number(row.last_wall_ms),
  }));
}

/** The closed blocks of these points (every block below the newest step's), as the writer keeps them. */
function closedBlocks(points: Point[]): BlockRow[] {
  const newest = Math.max(...points.map((point) => point.step));
  return blockRows(points)
    .filter((row) => row.start < blockStart(newest, row.size))
    .sort((a, b) => a.size - b.size || a.start - b.start);
}

/** Steps 0.. with a value each, `count` of them, NaN now and then. */
function steady(seriesId: number, from: number, count: number, wallFrom = 1_000): Point[] {
  const points: Point[] = [];
  for (let step = from; step < from + count; step++) {
    const value = step % 101 === 0 ? Number.NaN : Math.sin(step / 50) * 10;
    points.push({ seriesId, step, value, wallMs: wallFrom + step });
  }
  return points;
}

/** Commits of 1-3 points, as a trainer logging every step gets them at a commit every few tens of ms. */
function smallCommits(points: Point[], next: () => number): number[] {
  const sizes: number[] = [];
  for (let at = 0; at < points.length;) {
    const size = 1 + Math.floor(next() * 3);
    sizes.push(size);
    at += size;
  }
  return sizes;
}

async function storeInCommits(
  open: OpenDatabase,
  points: Point[],
  sizes: number[],
  state: WriterState,
): Promise<void> {
  let at = 0;
  for (const size of sizes) {
    await store(open, points.slice(at, at + size), size, state);
    at += size;
  }
}

const WINDOWS: [number, number | undefined, number][] = [
  [0, undefined, 1_000],
  [0, undefined, 100],
  [1, 69_999, 900],
  [5, 68_888, 3],
  [3_000, undefined, 777],
];

async function expectExactWindows(
  open: OpenDatabase,
  seriesId: number,
  points: Point[],
): Promise<void> {
  const reads = new StoreReads(open.db);
  const series = { id: seriesId, name: 'loss', kind: SeriesKind.STEP };
  for (const [from, to, maxPoints] of WINDOWS) {
    const answer = await reads.seriesWindow(series, from, to, maxPoints);
    const expected = reference(points, from, to ?? Number.MAX_SAFE_INTEGER, maxPoints);
    expect({ window: [from, to, maxPoints], total: answer.totalPoints }).toEqual({
      window: [from, to, maxPoints],
      total: expected.total,
    });
    expect(answer.buckets).toEqual(expected.buckets);
  }
}

/** Blocks written when they close, and reads that stay exact around them, on both engines. */
describe.each(STORE_ENGINES)('closing blocks on %s', (_name, makeFixture) => {
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

  it('writes a block row per closed block, not two per commit', async () => {
    const seriesId = await newSeries(open);
    // 4,200 steps, one or two points per commit: closed blocks of 64 to 4,096 steps, 65 + 32 + 16 + 8 + 4 + 2 + 1.
    const points = steady(seriesId, 0, 4_200);
    const state = new WriterState(open);
    const before = open.sqlite?.prepare('select total_changes() as n').pluck().get() as number;
    for (let at = 0; at < points.length; at += 2) {
      await store(open, points.slice(at, at + 2), 2, state);
    }
    const stored = await storedBlocks(open, seriesId);
    const closed = [64, 128, 256, 512, 1024, 2048, 4096].map(
      (size) => stored.filter((row) => row.size === size).length,
    );
    expect(closed).toEqual([65, 32, 16, 8, 4, 2, 1]);
    expect(stored).toEqual(closedBlocks(points));
    if (open.sqlite !== undefined) {
      // Rows written: the 4,200 points and the 128 block rows (block upserts per commit were 4,200 more per level).
      const after = open.sqlite.prepare('select total_changes() as n').pluck().get() as number;
      expect(after - before).toBe(4_200 + 128);
    }
  });

  it('keeps every block exact when commits fail after planning and are retried', async () => {
    const seriesId = await newSeries(open);
    const points = steady(seriesId, 0, 4_300);
    const next = random(3);
    // Three points a commit; every commit that closes a 64-step block fails once, and one in ten others.
    const closesBlock = (chunk: number) =>
      Math.floor((chunk * 3 + 2) / 64) !== Math.floor((chunk * 3 - 1) / 64);
    await store(
      open,
      points,
      3,
      new WriterState(open),
      (chunk) => closesBlock(chunk) || next() < 0.1,
    );
    expect(await storedBlocks(open, seriesId)).toEqual(closedBlocks(points));
  });

  it('recomputes blocks through the points index, never a scan of the table (SQLite query plans)', async () => {
    if (open.sqlite === undefined) return;
    const sqlite = open.sqlite;
    const seriesId = await newSeries(open);
    await store(open, steady(seriesId, 0, 2_000), 2_000, new WriterState(open));
    // A series this writer never saw (first touch, recomputed from the watermark), then a late point.
    // 300 series in one commit (a few dozen trainers' named metrics): SQLite picks its join order by
    // the number of ranges, and past ~250 a plain join scanned the index.
    const others = Array.from({ length: 299 }, (_, index) => seriesId + 1 + index);
    const commit = (id: number, steps: number[]) => ({
      seriesId: id,
      steps,
      values: steps.map(() => 1),
      wallMs: steps.map(() => 1),
      size: steps.length,
    });
    const blocks = new OpenBlocks();
    const first = planClosing(blocks, [
      commit(seriesId, [2_000, 2_100]),
      ...others.map((id) => commit(id, [0, 100])),
    ]);
    blocks.apply(first);
    const second = planClosing(blocks, [
      commit(seriesId, [10, 4_200]),
      ...others.map((id) => commit(id, [200])),
    ]);
    expect(second.levels.some((level) => level.late.length > 0)).toBe(true);
    expect(Math.max(...first.levels.map((level) => level.fromWatermark.length))).toBe(300);
    // The statements as the writer would run them, captured instead (the plan is asked of SQLite below).
    const statements: [string, readonly unknown[]][] = [];
    const capture = {
      run: (_trx: unknown, text: string, values: readonly unknown[]) => {
        statements.push([text, values]);
        return Promise.resolve();
      },
    } as unknown as RawStatements;
    const noTransaction = undefined as unknown as Transaction<Database>;
    await writeClosingBlocks(noTransaction, capture, false, first);
    await writeClosingBlocks(noTransaction, capture, false, second);
    const plans = statements.map(([text, parameters]) =>
      (
        sqlite.prepare(`explain query plan ${text}`).all([...parameters]) as { detail: string }[]
      ).map((row) => row.detail),
    );
    expect(plans.length).toBeGreaterThan(3);
    // Aliases: p = points, c and b = series_blocks. A SCAN of one reads every row it holds.
    expect(plans.flat().filter((detail) => /^SCAN (p|c|b)\b/.test(detail))).toEqual([]);
    expect(plans.flat().some((detail) => detail.startsWith('SEARCH p USING'))).toBe(true);
  });

  it('answers windows that end inside the open block, span closed blocks and hold re-logged steps exactly', async () => {
    const next = random(7);
    const seriesId = await newSeries(open);
    const points = steady(seriesId, 0, 90_000);
    // A trainer that went back: steps of closed 64- and 4096-step blocks logged again, late.
    for (let late = 0; late < 40; late++) {
      points.push({
        seriesId,
        step: Math.floor(next() * 90_000),
        value: late % 5 === 0 ? Number.NaN : next() * 100,
        wallMs: 200_000 + late,
      });
    }
    points.push(...steady(seriesId, 90_000, 37, 300_000));
    const state = new WriterState(open);
    // Large commits for the bulk, then one to three points each across block ends.
    const bulk = points.length - 400;
    await store(open, points.slice(0, bulk), 997, state);
    await storeInCommits(open, points.slice(bulk), smallCommits(points.slice(bulk), next), state);
    expect(await storedBlocks(open, seriesId)).toEqual(closedBlocks(points));
    await expectExactWindows(open, seriesId, points);
  }, 120_000);

  it('recomputes the blocks a restarted trainer logs again over its older points, and writes the new ones from memory', async () => {
    const next = random(11);
    const seriesId = await newSeries(open);
    const points = steady(seriesId, 0, 70_000);
    await store(open, points, 5_000);
    // After a restart the trainer resumes from a checkpoint at step 66,000: steps 66,000-69,999 come again (both rows
    // kept, the later wins a tie), then new ones; the blocks it closes past step 70,000 hold only this process's points.
    const again = steady(seriesId, 66_000, 8_000, 150_000).map((point) => ({
      ...point,
      value: point.value + 1,
    }));
    points.push(...again);
    await storeInCommits(open, again, smallCommits(again, next), new WriterState(open));
    expect(await storedBlocks(open, seriesId)).toEqual(closedBlocks(points));
    await expectExactWindows(open, seriesId, points);
  }, 120_000);

  it('stays exact after a crash left points without their blocks, and the next commit repairs them', async () => {
    const seriesId = await newSeries(open);
    const points = steady(seriesId, 0, 80_000);
    await store(open, points.slice(0, 70_000), 1_000);
    // The writer died after committing 10,000 more points whose blocks it never wrote.
    for (let at = 70_000; at < 80_000; at += 2_000) {
      await open.db
        .insertInto('points')
        .values(
          points.slice(at, at + 2_000).map((point) => ({
            series_id: point.seriesId,
            step: point.step,
            value: toStoredValue(point.value),
            wall_ms: point.wallMs,
          })),
        )
        .execute();
    }
    const behind = await storedBlocks(open, seriesId);
    expect(
      Math.max(...behind.filter((row) => row.size === 64).map((row) => row.start)),
    ).toBeLessThan(70_000);
    await expectExactWindows(open, seriesId, points);
    // A restarted writer's first commit of the series repairs every block up to its point.
    const more = steady(seriesId, 80_000, 3);
    points.push(...more);
    const state = new WriterState(open);
    await store(open, more, 3, state);
    expect(await storedBlocks(open, seriesId)).toEqual(closedBlocks(points));
    await expectExactWindows(open, seriesId, points);
    // A block below the open one goes missing (another writer held it open): the next block to close repairs it too.
    await open.db
      .deleteFrom('series_blocks')
      .where('series_id', '=', seriesId)
      .where('block_size', '=', 64)
      .where('block_start', '>=', 79_872)
      .execute();
    await expectExactWindows(open, seriesId, points);
    const next = steady(seriesId, 80_064, 1);
    points.push(...next);
    await store(open, next, 1, state);
    expect(await storedBlocks(open, seriesId)).toEqual(closedBlocks(points));
    await expectExactWindows(open, seriesId, points);
  }, 120_000);

  it('drops an open block a previous writer stored, so reads never trust it as it grows', async () => {
    const seriesId = await newSeries(open);
    const points = steady(seriesId, 0, 70_010);
    await store(open, points, 5_000);
    // A writer that stored blocks as they filled left rows for the open blocks (steps 69,952-70,009 and 69,632-70,009).
    const open64 = blockStart(70_009, 64);
    const open4096 = blockStart(70_009, 4_096);
    for (const [size, start] of [
      [64, open64],
      [4_096, open4096],
    ] as const) {
      const row = blockRows(points.filter((point) => blockStart(point.step, size) === start)).find(
        (one) => one.size === size,
      ) as BlockRow;
      await open.db
        .insertInto('series_blocks')
        .values({
          series_id: seriesId,
          block_size: size,
          block_start: start,
          first_step: row.firstStep,
          last_step: row.lastStep,
          point_count: row.count,
          nan_count: row.nans,
          min_v: toStoredValue(row.min),
          max_v: toStoredValue(row.max),
          last_value: toStoredValue(row.last),
          last_wall_ms: row.lastWallMs,
        })
        .execute();
    }
    // After a restart, more points land in that block; it is still open.
    const more = steady(seriesId, 70_010, 5, 500_000);
    points.push(...more);
    const state = new WriterState(open);
    await store(open, more, 5, state);
    const stored = await storedBlocks(open, seriesId);
    expect(stored).toEqual(closedBlocks(points));
    expect(stored.some((row) => row.start === open64 && row.size === 64)).toBe(false);
    await expectExactWindows(open, seriesId, points);
    // The block closes: written from all of its points.
    const closing = steady(seriesId, open64 + 64, 1, 600_000);
    points.push(...closing);
    await store(open, closing, 1, state);
    expect(await storedBlocks(open, seriesId)).toEqual(closedBlocks(points));
  }, 120_000);
});
