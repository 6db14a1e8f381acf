import type { Transaction } from 'kysely';
import type { RawStatements } from './raw-statement';
import type { Database } from './schema';
import { BLOCK_SIZES, blockStart } from './series-blocks';

/**
 * Series blocks written when they close (see series-blocks.ts): a commit
 * holds 1-3 points per series, so upserting each point's two blocks wrote
 * as many block rows as point rows. Instead the writer remembers per series
 * the open block (the 64-step block of the newest step it wrote) and writes
 * a block only once a point lands past it, recomputed in SQL from the finer
 * data: a 64-step block from its points, a 4096-step block from its 64-step
 * rows. The stored blocks of a level are then exactly the closed ones, and
 * readers trust a level only below its watermark (max stored block_start +
 * size), reading the raw points from there on.
 */

/** Finest block size: the open block the writer tracks is of this size. */
const FINE = BLOCK_SIZES[BLOCK_SIZES.length - 1] as number;
/** Coarsest block size, recomputed from the FINE rows. */
const COARSE = BLOCK_SIZES[0] as number;
/** Ranges per statement: 4 bound parameters each, far below both engines' limits (a power of two, see padded). */
const MAX_RANGES_PER_STATEMENT = 4_096;
/** Below every step: the watermark of a level with no stored block (steps may be negative). */
const NO_WATERMARK = -Number.MAX_SAFE_INTEGER;

/** The steps one commit writes for one series, in the order they are stored. */
export interface CommitSeries {
  seriesId: number;
  steps: ArrayLike<number>;
  size: number;
}

/**
 * A step range [lo, hi) of one series whose blocks are recomputed; lo
 * undefined: from the level's watermark (found in SQL). `clip`: hi is cut
 * at the watermark, so the range never overlaps the same commit's
 * watermark range (a point counted twice in one GROUP BY).
 */
interface BlockRange {
  seriesId: number;
  lo: number | undefined;
  hi: number;
  clip: boolean;
}

/** What one commit does to the series blocks. */
export interface ClosingPlan {
  /** Series written for the first time in this process: their blocks at or past the open one go first. */
  firstTouch: { seriesId: number; open: number }[];
  /** Per level (BLOCK_SIZES order, coarsest first), the ranges to recompute. */
  ranges: BlockRange[][];
  /** Each series' open FINE block after the commit (applied once it succeeded). */
  open: Map<number, number>;
}

/**
 * The open FINE block of each series this writer has written, bounded by
 * the series ids it remembers (cleared with them: the next commit of a
 * series it forgot repairs from the watermark).
 */
export class OpenBlocks {
  private readonly open = new Map<number, number>();

  get size(): number {
    return this.open.size;
  }

  get(seriesId: number): number | undefined {
    return this.open.get(seriesId);
  }

  apply(plan: ClosingPlan): void {
    for (const [seriesId, start] of plan.open) this.open.set(seriesId, start);
  }

  delete(seriesId: number): void {
    this.open.delete(seriesId);
  }

  clear(): void {
    this.open.clear();
  }
}

/** The blocks one commit closes or recomputes (no reads: the watermarks are looked up in SQL). */
export function planClosing(open: OpenBlocks, series: Iterable<CommitSeries>): ClosingPlan {
  const plan: ClosingPlan = {
    firstTouch: [],
    ranges: BLOCK_SIZES.map(() => []),
    open: new Map(),
  };
  // A series may come in several pieces (one per pending list); each series' starts are gathered first.
  const touched = new Map<number, Set<number>>();
  for (const one of series) {
    let starts = touched.get(one.seriesId);
    if (starts === undefined) {
      starts = new Set();
      touched.set(one.seriesId, starts);
    }
    for (let index = 0; index < one.size; index++) {
      starts.add(blockStart(one.steps[index] as number, FINE));
    }
  }
  for (const [seriesId, starts] of touched) {
    if (starts.size === 0) continue;
    const before = open.get(seriesId);
    let after = before ?? -Infinity;
    for (const start of starts) if (start > after) after = start;
    plan.open.set(seriesId, after);
    const first = before === undefined;
    if (first) plan.firstTouch.push({ seriesId, open: after });
    // Points below the open block: out of order, or re-logged steps.
    const late: number[] = [];
    for (const start of starts) if (start < after) late.push(start);
    for (let level = 0; level < BLOCK_SIZES.length; level++) {
      const size = BLOCK_SIZES[level] as number;
      const openAtLevel = blockStart(after, size);
      // The open block moved (or is unknown): every block from the watermark
      // up to it closes, the one that was open included. From the watermark
      // rather than from the block that was open, so a block left unwritten
      // (another writer's, a lost state) is repaired by the next one to close.
      const closing = first || blockStart(before, size) < openAtLevel;
      const ranges = plan.ranges[level] as BlockRange[];
      if (closing) ranges.push({ seriesId, lo: undefined, hi: openAtLevel, clip: false });
      const levelStarts = new Set<number>();
      for (const start of late) {
        const at = blockStart(start, size);
        if (at < openAtLevel) levelStarts.add(at);
      }
      for (const [lo, hi] of contiguous(
        [...levelStarts].sort((a, b) => a - b),
        size,
      )) {
        ranges.push({ seriesId, lo, hi, clip: closing });
      }
    }
  }
  return plan;
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
 * not closed), then each level's blocks are recomputed, FINE before COARSE
 * (which reads the FINE rows). Replace, never merge, so recomputing twice
 * is harmless.
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
        text(`delete ${size} ${postgres} ${rows}`, () => deleteText(rows, size, postgres)),
        values,
      );
    }
  }
  // Insertion order of a table never updated: SQLite's rowid, PostgreSQL's tuple id.
  const rowid = postgres ? 'ctid' : 'rowid';
  for (let level = BLOCK_SIZES.length - 1; level >= 0; level--) {
    const size = BLOCK_SIZES[level] as number;
    const ranges = plan.ranges[level] as BlockRange[];
    for (let at = 0; at < ranges.length; at += MAX_RANGES_PER_STATEMENT) {
      const chunk = ranges.slice(at, at + MAX_RANGES_PER_STATEMENT);
      const values: unknown[] = [];
      for (const range of chunk)
        values.push(range.seriesId, range.lo ?? null, range.hi, range.clip ? 1 : 0);
      const rows = padded(chunk.length);
      // Padding rows: series 0 (ids start at 1), an empty range.
      for (let row = chunk.length; row < rows; row++) values.push(0, 0, 0, 0);
      const key = `${size} ${rowid} ${rows}`;
      const built = text(key, () => (size === FINE ? fineText(rows, rowid) : coarseText(rows)));
      await statements.run(trx, built, values);
    }
  }
}

/** Statement texts by level, engine and row count: a few dozen at most (row counts are powers of two). */
const texts = new Map<string, string>();

/** The text under `key`, built once: a padded text runs to tens of KB, and the write thread looks it up whole. */
function text(key: string, build: () => string): string {
  let found = texts.get(key);
  if (found === undefined) {
    found = build();
    texts.set(key, found);
  }
  return found;
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
    : `${from} delete from series_blocks where rowid in (select b.rowid from d join series_blocks b on ${match})`;
}

/**
 * The ranges as a table (series_id, lo, hi) with the watermark filled in:
 * max stored block_start + size of the series at this level.
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
      from ranges join points p on p.series_id = ranges.series_id
        and p.step >= ranges.lo and p.step < ranges.hi
      group by p.series_id, ${start}
    ) g
    where true
    ${UPSERT}`;
}

/** COARSE blocks from the FINE rows (at most COARSE / FINE each); the last is the last FINE block's. */
function coarseText(rows: number): string {
  const start = `(c.block_start - ((c.block_start % ${COARSE} + ${COARSE}) % ${COARSE}))`;
  const lastBlock = (column: string) =>
    `(select l.${column} from series_blocks l where l.series_id = g.series_id
      and l.block_size = ${FINE} and l.block_start = g.last_block)`;
  return `${rangesCte(rows, COARSE)}
    ${INSERT}
    select g.series_id, ${COARSE}, g.block_start, g.first_step, g.last_step, g.n, g.nans,
      g.min_v, g.max_v, ${lastBlock('last_value')}, ${lastBlock('last_wall_ms')}
    from (
      select c.series_id, ${start} as block_start, max(c.block_start) as last_block,
        min(c.first_step) as first_step, max(c.last_step) as last_step,
        sum(c.point_count) as n, sum(c.nan_count) as nans,
        min(c.min_v) as min_v, max(c.max_v) as max_v
      from ranges join series_blocks c on c.series_id = ranges.series_id and c.block_size = ${FINE}
        and c.block_start >= ranges.lo and c.block_start < ranges.hi
      group by c.series_id, ${start}
    ) g
    where true
    ${UPSERT}`;
}
