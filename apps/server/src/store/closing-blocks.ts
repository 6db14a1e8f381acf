import type { Kysely, Transaction } from 'kysely';
import type { RawStatements } from './raw-statement';
import type { Database } from './schema';
import {
  addPoint,
  BLOCK_SIZES,
  blockStart,
  pushBlockRow,
  pointAggregate,
  type Aggregate,
  type BlockRow,
} from './series-blocks';

/**
 * Series blocks written when they close (see series-blocks.ts): a commit
 * holds 1-3 points per series, so upserting each point's two blocks wrote
 * as many block rows as point rows. Instead the writer remembers per series
 * the open block (the 64-step block of the newest step it wrote) and writes
 * a block only once a point lands past it, recomputed in SQL from the finer
 * data: a 64-step block from its points, a coarser block from its 64-step
 * rows. The stored blocks of a level are then exactly the closed ones, and
 * readers trust a level only below its watermark (max stored block_start +
 * size), reading the raw points from there on.
 */

/** Finest block size: the open block the writer tracks is of this size. */
const FINE = BLOCK_SIZES[BLOCK_SIZES.length - 1] as number;
/** Ranges per statement: 4 bound parameters each, far below both engines' limits (a power of two, see padded). */
const MAX_RANGES_PER_STATEMENT = 4_096;
/** Below every step: the watermark of a level with no stored block (steps may be negative). */
const NO_WATERMARK = -Number.MAX_SAFE_INTEGER;
/** Closed blocks per insert: 11 parameters each, under SQLite's 32,766. */
const MAX_ROWS_PER_INSERT = 2_048;
/** Series ids per storedThrough query. */
const MAX_IDS_PER_QUERY = 1_000;

/** The points one commit writes for one series, in the order they are stored. */
export interface CommitSeries {
  seriesId: number;
  steps: ArrayLike<number>;
  values: ArrayLike<number>;
  wallMs: ArrayLike<number>;
  size: number;
}

/**
 * A step range [lo, hi) of one series whose blocks are recomputed in SQL;
 * lo undefined: from the level's watermark (found in SQL).
 */
interface BlockRange {
  seriesId: number;
  lo: number | undefined;
  hi: number;
}

/**
 * One level's open block of a series: its start, and its aggregate while
 * it is known to hold every point of the block (the block opened in this
 * process above every step stored before; see OpenBlocks).
 */
interface OpenBlock {
  start: number;
  aggregate: Aggregate | undefined;
}

/** A series' open blocks, one per level (BLOCK_SIZES order), and its newest step stored before this process first wrote it. */
interface SeriesOpen {
  levels: OpenBlock[];
  storedThrough: number;
}

/** What one commit does to the series blocks of one level. */
interface LevelPlan {
  /** Recomputed from the watermark (a block whose aggregate this process does not hold whole). */
  fromWatermark: BlockRange[];
  /** Closed blocks whose aggregate this process holds whole: written as they are. */
  rows: BlockRow[];
  /** Blocks a late (out-of-order or re-logged) point fell in: recomputed. */
  late: BlockRange[];
}

/** What one commit does to the series blocks. */
export interface ClosingPlan {
  /** Series written for the first time in this process: their blocks at or past the open one go first. */
  firstTouch: { seriesId: number; open: number }[];
  /** Per level (BLOCK_SIZES order, coarsest first). */
  levels: LevelPlan[];
  /**
   * Each series' open blocks after the commit: the writer's own state,
   * moved on in place (copying it per series and commit was a tenth of the
   * server's allocation at 50 trainers × 20 named metrics); the commit's
   * new series are taken in by OpenBlocks.apply once it succeeded, and a
   * failed commit's series forgotten (OpenBlocks.forget).
   */
  open: Map<number, SeriesOpen>;
}

/**
 * The open blocks of each series this writer has written, bounded by the
 * series ids it remembers (cleared with them: the next commit of a series
 * it forgot repairs from the watermark). A closed block is written from
 * the aggregate kept here (no read) when this process saw every point of
 * it: the block opened here, above the newest step stored before this
 * process first wrote the series (read once with the series id, see
 * storedThrough). Otherwise (after a restart, a trainer resuming from an
 * earlier step) it is recomputed in SQL from the finer data. Recomputing
 * every closing block in SQL read ~64 scattered point rows per block and
 * cost the write thread twice what the per-commit upserts had.
 */
export class OpenBlocks {
  private readonly open = new Map<number, SeriesOpen>();

  get size(): number {
    return this.open.size;
  }

  has(seriesId: number): boolean {
    return this.open.has(seriesId);
  }

  /** The open FINE block's start. */
  get(seriesId: number): number | undefined {
    return this.open.get(seriesId)?.levels[BLOCK_SIZES.length - 1]?.start;
  }

  /** Takes in the series a successful commit wrote for the first time in this process. */
  apply(plan: ClosingPlan): void {
    for (const [seriesId, state] of plan.open) this.open.set(seriesId, state);
  }

  /**
   * Forgets every series a failed commit's plan touched: planning moved
   * their open blocks on in place, past points that are not stored. Their
   * next commit (the retry) repairs them from the watermarks, as after a
   * restart.
   */
  forget(plan: ClosingPlan): void {
    for (const seriesId of plan.open.keys()) this.open.delete(seriesId);
  }

  delete(seriesId: number): void {
    this.open.delete(seriesId);
  }

  clear(): void {
    this.open.clear();
  }

  /** For planClosing only: the state a commit starts from. */
  state(seriesId: number): SeriesOpen | undefined {
    return this.open.get(seriesId);
  }
}

/**
 * The newest stored step of each series (-Infinity for none): read once
 * per series and process, before its first commit here.
 */
export async function storedThrough(
  db: Kysely<Database>,
  seriesIds: readonly number[],
): Promise<Map<number, number>> {
  const through = new Map<number, number>();
  for (let at = 0; at < seriesIds.length; at += MAX_IDS_PER_QUERY) {
    const chunk = seriesIds.slice(at, at + MAX_IDS_PER_QUERY);
    const rows = await db
      .selectFrom('points')
      .select(['series_id', (eb) => eb.fn.max('step').as('newest')])
      .where('series_id', 'in', chunk)
      .groupBy('series_id')
      .execute();
    for (const id of chunk) through.set(id, Number.NEGATIVE_INFINITY);
    for (const row of rows) {
      if (row.newest !== null) through.set(Number(row.series_id), Number(row.newest));
    }
  }
  return through;
}

/**
 * The blocks one commit closes or recomputes. `through`: storedThrough of
 * the series this writer has not written yet (a series missing from both
 * is treated as having points everywhere: every block recomputed in SQL).
 */
export function planClosing(
  open: OpenBlocks,
  series: Iterable<CommitSeries>,
  through: ReadonlyMap<number, number> = new Map(),
): ClosingPlan {
  const plan: ClosingPlan = {
    firstTouch: [],
    levels: BLOCK_SIZES.map(() => ({ fromWatermark: [], rows: [], late: [] })),
    open: new Map(),
  };
  // Per series and level: the end of its watermark range, its late block starts (made when
  // needed: most commits add points to open blocks and need neither).
  const watermarkHi = new Map<number, number[]>();
  const lateStarts = new Map<number, Set<number>[]>();
  const hisOf = (seriesId: number): number[] => {
    let his = watermarkHi.get(seriesId);
    if (his === undefined) {
      his = BLOCK_SIZES.map(() => Number.NEGATIVE_INFINITY);
      watermarkHi.set(seriesId, his);
    }
    return his;
  };
  const latesOf = (seriesId: number): Set<number>[] => {
    let lates = lateStarts.get(seriesId);
    if (lates === undefined) {
      lates = BLOCK_SIZES.map(() => new Set<number>());
      lateStarts.set(seriesId, lates);
    }
    return lates;
  };
  for (const one of series) {
    if (one.size === 0) continue;
    let state = plan.open.get(one.seriesId);
    if (state === undefined) {
      state = open.state(one.seriesId);
      if (state === undefined) {
        const stored = through.get(one.seriesId) ?? Number.POSITIVE_INFINITY;
        state = { levels: [], storedThrough: stored };
        plan.firstTouch.push({
          seriesId: one.seriesId,
          open: blockStart(one.steps[0] as number, FINE),
        });
      }
      plan.open.set(one.seriesId, state);
    }
    for (let index = 0; index < one.size; index++) {
      const step = one.steps[index] as number;
      const value = one.values[index] as number;
      const wallMs = one.wallMs[index] as number;
      for (let level = 0; level < BLOCK_SIZES.length; level++) {
        const size = BLOCK_SIZES[level] as number;
        const start = blockStart(step, size);
        const current = state.levels[level];
        if (current === undefined) {
          // First write of the series in this process: the blocks a crash left unwritten below it are recomputed.
          state.levels[level] = {
            start,
            aggregate: opened(start, state.storedThrough, step, value, wallMs),
          };
          const his = hisOf(one.seriesId);
          his[level] = Math.max(his[level] as number, start);
          continue;
        }
        if (start === current.start) {
          if (current.aggregate !== undefined) addPoint(current.aggregate, step, value, wallMs);
          continue;
        }
        if (start < current.start) {
          (latesOf(one.seriesId)[level] as Set<number>).add(start);
          continue;
        }
        // The open block closes: written from its aggregate when this process
        // holds it whole, otherwise recomputed from the watermark up to the new
        // block (taking in any block between them that holds older points).
        // Either way the blocks from the watermark up to it are recomputed
        // first: normally none (an index probe), but a block another writer
        // left unwritten is repaired by the next one to close.
        const his = hisOf(one.seriesId);
        if (current.aggregate !== undefined) {
          const levelPlan = plan.levels[level] as LevelPlan;
          levelPlan.rows.push({
            seriesId: one.seriesId,
            size,
            start: current.start,
            ...current.aggregate,
          });
          his[level] = Math.max(his[level] as number, current.start);
        } else {
          his[level] = Math.max(his[level] as number, start);
        }
        current.start = start;
        current.aggregate = opened(start, state.storedThrough, step, value, wallMs);
      }
    }
  }
  for (const seriesId of plan.open.keys()) {
    const his = watermarkHi.get(seriesId);
    const lates = lateStarts.get(seriesId);
    if (his === undefined && lates === undefined) continue;
    for (let level = 0; level < BLOCK_SIZES.length; level++) {
      const size = BLOCK_SIZES[level] as number;
      const levelPlan = plan.levels[level] as LevelPlan;
      const hi = his === undefined ? Number.NEGATIVE_INFINITY : (his[level] as number);
      if (hi !== Number.NEGATIVE_INFINITY)
        levelPlan.fromWatermark.push({ seriesId, lo: undefined, hi });
      if (lates === undefined) continue;
      const starts = [...(lates[level] as Set<number>)].sort((a, b) => a - b);
      for (const [lo, end] of contiguous(starts, size))
        levelPlan.late.push({ seriesId, lo, hi: end });
    }
  }
  return plan;
}

/** A block opened by this point: its aggregate is whole only above every step stored before. */
function opened(
  start: number,
  storedThrough: number,
  step: number,
  value: number,
  wallMs: number,
): Aggregate | undefined {
  return start > storedThrough ? pointAggregate(step, value, wallMs) : undefined;
}

/** Sorted block starts merged into [lo, hi) runs of adjacent blocks. */
function* contiguous(starts: readonly number[], size: number): Generator<[number, number]> {
  let lo: number | undefined;
  let hi = 0;
  for (const start of starts) {
    if (lo !== undefined && start === hi) {
      hi += size;
      continue;
    }
    if (lo !== undefined) yield [lo, hi];
    lo = start;
    hi = start + size;
  }
  if (lo !== undefined) yield [lo, hi];
}

/**
 * Writes a commit's closing blocks inside its transaction (after its
 * points): first-touch series lose their blocks at or past the open one
 * (a crash, or a writer that kept open blocks, may have left them; they are
 * not closed), then per level, FINE before the coarser ones (which read
 * the FINE rows): the ranges recomputed from the watermark, the closed blocks this
 * process holds whole, then the blocks late points fell in. Replace, never
 * merge, so writing a block twice is harmless; the three are separate
 * statements, so no point is counted twice in one GROUP BY.
 */
export async function writeClosingBlocks(
  trx: Transaction<Database>,
  statements: RawStatements,
  postgres: boolean,
  plan: ClosingPlan,
): Promise<void> {
  for (const size of BLOCK_SIZES) {
    for (let at = 0; at < plan.firstTouch.length; at += MAX_RANGES_PER_STATEMENT) {
      const chunk = plan.firstTouch.slice(at, at + MAX_RANGES_PER_STATEMENT);
      const values: unknown[] = [];
      for (const { seriesId, open: start } of chunk) values.push(seriesId, blockStart(start, size));
      const rows = padded(chunk.length);
      // Padding rows: series 0 (ids start at 1), nothing to delete.
      for (let row = chunk.length; row < rows; row++) values.push(0, 0);
      await statements.run(
        trx,
        cached(`delete:${size}:${rows}:${postgres}`, () => deleteText(rows, size, postgres)),
        values,
      );
    }
  }
  for (let level = BLOCK_SIZES.length - 1; level >= 0; level--) {
    const size = BLOCK_SIZES[level] as number;
    const levelPlan = plan.levels[level] as LevelPlan;
    await recompute(trx, statements, postgres, size, levelPlan.fromWatermark);
    await writeRows(trx, statements, postgres, levelPlan.rows);
    await recompute(trx, statements, postgres, size, levelPlan.late);
  }
}

async function recompute(
  trx: Transaction<Database>,
  statements: RawStatements,
  postgres: boolean,
  size: number,
  ranges: readonly BlockRange[],
): Promise<void> {
  // Insertion order of a table never updated: SQLite's rowid, PostgreSQL's tuple id.
  const rowid = postgres ? 'ctid' : 'rowid';
  for (let at = 0; at < ranges.length; at += MAX_RANGES_PER_STATEMENT) {
    const chunk = ranges.slice(at, at + MAX_RANGES_PER_STATEMENT);
    const rows = padded(chunk.length);
    const values: unknown[] = [];
    for (const range of chunk) values.push(range.seriesId, range.lo ?? null, range.hi, 0);
    // Padding rows: series 0 (ids start at 1), an empty range.
    for (let row = chunk.length; row < rows; row++) values.push(0, 0, 0, 0);
    const text = cached(`recompute:${size}:${rows}:${rowid}`, () =>
      size === FINE ? fineText(rows, rowid) : coarseText(rows, size),
    );
    await statements.run(trx, text, values);
  }
}

async function writeRows(
  trx: Transaction<Database>,
  statements: RawStatements,
  postgres: boolean,
  rows: readonly BlockRow[],
): Promise<void> {
  for (let at = 0; at < rows.length; at += MAX_ROWS_PER_INSERT) {
    const chunk = rows.slice(at, at + MAX_ROWS_PER_INSERT);
    const values: unknown[] = [];
    for (const row of chunk) pushBlockRow(values, row);
    await statements.run(
      trx,
      cached(`rows:${chunk.length}`, () => rowsText(chunk.length)),
      values,
    );
  }
}

/** Statement texts by kind and row count, built once (a commit's are among a few dozen). */
const TEXTS = new Map<string, string>();
function cached(key: string, build: () => string): string {
  let text = TEXTS.get(key);
  if (text === undefined) {
    text = build();
    TEXTS.set(key, text);
  }
  return text;
}

/** Closed blocks as they are (replace: a block is written whole). */
function rowsText(rows: number): string {
  const row = `(${new Array<string>(11).fill('?').join(', ')})`;
  return `${INSERT} values ${new Array<string>(rows).fill(row).join(', ')} ${UPSERT}`;
}

/**
 * Row counts rounded up to a power of two: the number of closing blocks
 * varies with every commit, and each distinct text is a statement to parse
 * and keep prepared (the write thread's cache is cleared whole when full).
 */
function padded(rows: number): number {
  return rows <= 1 ? 1 : 2 ** Math.ceil(Math.log2(rows));
}

/** Deletes each listed series' rows of one size at or past a block start (one statement for a commit's first-touch series). */
function deleteText(rows: number, size: number, postgres: boolean): string {
  const row = '(cast(? as bigint), cast(? as bigint))';
  const from = `with d (series_id, from_start) as (values ${new Array<string>(rows).fill(row).join(', ')})`;
  const match = `b.series_id = d.series_id and b.block_size = ${size} and b.block_start >= d.from_start`;
  return postgres
    ? `${from} delete from series_blocks b using d where ${match}`
    : `${from} delete from series_blocks where rowid in (select b.rowid from d cross join series_blocks b where ${match})`;
}

/**
 * The ranges as a table (series_id, lo, hi) with the watermark filled in:
 * max stored block_start + size of the series at this level. Joined to the
 * points or blocks with CROSS JOIN, which makes SQLite loop over the ranges
 * and look each one up in the index: with a plain join it scanned the whole
 * points index once per statement (EXPLAIN QUERY PLAN), a commit's cost
 * growing with every point stored (1.5-2.3 s of the write thread per 5 s,
 * 20-30 s into a run of 50 trainers × 20 named metrics). PostgreSQL plans
 * the WHERE form as it would the ON form.
 */
function rangesCte(rows: number, size: number): string {
  const row = '(cast(? as bigint), cast(? as bigint), cast(? as bigint), cast(? as integer))';
  const watermark = `coalesce((select max(w.block_start) + ${size} from series_blocks w
      where w.series_id = r.series_id and w.block_size = ${size}), ${NO_WATERMARK})`;
  return `with r (series_id, lo, hi, clip) as (values ${new Array<string>(rows).fill(row).join(', ')}),
    m as (select series_id, lo, hi, clip,
      case when lo is null or clip = 1 then ${watermark} else 0 end as wm from r),
    ranges as (select series_id,
      case when lo is null then wm else lo end as lo,
      case when clip = 1 and hi > wm then wm else hi end as hi from m)`;
}

/** Columns every recompute sets (replace, not merge). */
const UPSERT = `on conflict (series_id, block_size, block_start) do update set
  first_step = excluded.first_step, last_step = excluded.last_step,
  point_count = excluded.point_count, nan_count = excluded.nan_count,
  min_v = excluded.min_v, max_v = excluded.max_v,
  last_value = excluded.last_value, last_wall_ms = excluded.last_wall_ms`;

const INSERT = `insert into series_blocks (series_id, block_size, block_start, first_step, last_step,
  point_count, nan_count, min_v, max_v, last_value, last_wall_ms)`;

/**
 * FINE blocks from the points: the last value is the point at the block's
 * last step stored last (a step logged twice keeps both rows; the later
 * row wins, as the raw reads and the merged blocks had it). `where true`:
 * SQLite needs it to parse an upsert from a SELECT.
 */
function fineText(rows: number, rowid: string): string {
  const start = `(p.step - ((p.step % ${FINE} + ${FINE}) % ${FINE}))`;
  const lastPoint = (column: string) =>
    `(select l.${column} from points l where l.series_id = g.series_id and l.step = g.last_step
      order by l.${rowid} desc limit 1)`;
  return `${rangesCte(rows, FINE)}
    ${INSERT}
    select g.series_id, ${FINE}, g.block_start, g.first_step, g.last_step, g.n, g.nans,
      g.min_v, g.max_v, ${lastPoint('value')}, ${lastPoint('wall_ms')}
    from (
      select p.series_id, ${start} as block_start, min(p.step) as first_step,
        max(p.step) as last_step, count(*) as n,
        sum(case when p.value is null then 1 else 0 end) as nans,
        min(p.value) as min_v, max(p.value) as max_v
      from ranges cross join points p where p.series_id = ranges.series_id
        and p.step >= ranges.lo and p.step < ranges.hi
      group by p.series_id, ${start}
    ) g
    where true
    ${UPSERT}`;
}

/** Coarser blocks from the FINE rows (at most size / FINE each); the last is the last FINE block's. */
function coarseText(rows: number, size: number): string {
  const start = `(c.block_start - ((c.block_start % ${size} + ${size}) % ${size}))`;
  const lastBlock = (column: string) =>
    `(select l.${column} from series_blocks l where l.series_id = g.series_id
      and l.block_size = ${FINE} and l.block_start = g.last_block)`;
  return `${rangesCte(rows, size)}
    ${INSERT}
    select g.series_id, ${size}, g.block_start, g.first_step, g.last_step, g.n, g.nans,
      g.min_v, g.max_v, ${lastBlock('last_value')}, ${lastBlock('last_wall_ms')}
    from (
      select c.series_id, ${start} as block_start, max(c.block_start) as last_block,
        min(c.first_step) as first_step, max(c.last_step) as last_step,
        sum(c.point_count) as n, sum(c.nan_count) as nans,
        min(c.min_v) as min_v, max(c.max_v) as max_v
      from ranges cross join series_blocks c where c.series_id = ranges.series_id
        and c.block_size = ${FINE} and c.block_start >= ranges.lo and c.block_start < ranges.hi
      group by c.series_id, ${start}
    ) g
    where true
    ${UPSERT}`;
}
