/**
 * Pre-aggregated blocks of a series, so QuerySeries over a long window reads
 * a few thousand summary rows instead of every point.
 *
 * A block holds the points whose step falls in [start, start + size) for a
 * block size at every power of two from 64 to 4096 steps (blocks by step range, not by point count:
 * a point's block follows from its step alone, so the writer never reads
 * to place a point, and a re-sent or out-of-order step lands in the right
 * block). A long window is answered with buckets that are whole multiples of
 * a block size and aligned to it, so every bucket is the exact union of
 * whole blocks (min, max, count, last of exactly its points). The trade-off:
 * such a window's buckets are a whole number of blocks wide, so it returns
 * between about max_points / 2 and max_points buckets rather than exactly
 * span / max_points steps each. Windows up to RAW_WINDOW_STEPS steps, or
 * too narrow for a level to give max_points blocks, are bucketed from the
 * raw points as before. The bucket width is chosen from the level that
 * gives at least max_points blocks; the blocks read are then the coarsest
 * that tile that width (a 1,000,000-step window in 2,000 buckets reads
 * 1,954 512-step rows, one per bucket, where it grouped 15,625 64-step ones).
 * With a level at every power of two, the level chosen has fewer than
 * 2 × max_points blocks over the window (the next coarser one has fewer
 * than max_points), so a bucket is one or two of its blocks: one row of
 * that level or of the next coarser one. Every window is read as one row
 * per bucket; with levels at 64, 512 and 4096 only, windows of 256- or
 * 320-step buckets grouped four or five 64-step rows per bucket in SQL
 * (18-24 ms of PostgreSQL's time for ~8,000 rows, against ~6 ms for
 * ~2,000 rows read as they are).
 *
 * How they are kept (closing-blocks.ts): a block row is written when the
 * block closes (a point lands in a later block), from the aggregate the
 * writer held while it was open, or, when the writer did not see every
 * point of it (a restart), recomputed in SQL from the finer data: a
 * 64-step block from its points, a coarser block from its 64-step rows. A commit every few tens of ms holds 1-3 points per
 * series, so merging each commit into both blocks wrote as many block rows
 * as point rows; now it is one 64-step row per 64 steps. A late point in a
 * closed block recomputes that block (and its closed parent) in the same
 * commit. The stored rows of a level are therefore exactly its closed
 * blocks: below the level's watermark (max stored block_start + size)
 * they are trusted, from it on readers take the raw points (the open
 * block, up to 4096 steps; more only after a crash until the series' next
 * commit, which repairs from the watermark).
 */

import { toStoredValue } from './series-value';

/** Block sizes in steps, coarsest first. */
export const BLOCK_SIZES = [4096, 2048, 1024, 512, 256, 128, 64] as const;

/** Windows spanning at most this many steps are bucketed from the raw points (one scan of <= 65,536 points). */
export const RAW_WINDOW_STEPS = 65_536;

/** What a block (or a bucket) knows of its points. NaN values are counted, never min or max. */
export interface Aggregate {
  firstStep: number;
  lastStep: number;
  count: number;
  nans: number;
  /** Smallest non-NaN value; NaN when every point is NaN. */
  min: number;
  /** Largest non-NaN value; NaN when every point is NaN. */
  max: number;
  /** Value and wall time of the point at lastStep (the one stored last when a step came twice). */
  last: number;
  lastWallMs: number;
}

/** One block row (what the writer's SQL computes; blockRows for the same in memory). */
export interface BlockRow extends Aggregate {
  seriesId: number;
  size: number;
  start: number;
}

/** The start of the block of `size` steps holding `step`. */
export function blockStart(step: number, size: number): number {
  return Math.floor(step / size) * size;
}

/** An aggregate of one point. */
export function pointAggregate(step: number, value: number, wallMs: number): Aggregate {
  const nan = Number.isNaN(value);
  return {
    firstStep: step,
    lastStep: step,
    count: 1,
    nans: nan ? 1 : 0,
    min: value,
    max: value,
    last: value,
    lastWallMs: wallMs,
  };
}

/**
 * Folds `later` into `into` (changed in place). `later` holds points
 * stored after those of `into`, so it wins a tie on the last step.
 */
export function mergeAggregate(into: Aggregate, later: Aggregate): void {
  if (later.firstStep < into.firstStep) into.firstStep = later.firstStep;
  if (later.lastStep >= into.lastStep) {
    into.lastStep = later.lastStep;
    into.last = later.last;
    into.lastWallMs = later.lastWallMs;
  }
  into.count += later.count;
  into.nans += later.nans;
  if (Number.isNaN(into.min) || later.min < into.min) into.min = later.min;
  if (Number.isNaN(into.max) || later.max > into.max) into.max = later.max;
}

/**
 * The block rows for points in the order they are stored: one row per
 * series, block size and block (each key once, as one multi-row upsert
 * may touch a row only once in PostgreSQL).
 */
export function blockRows(
  points: Iterable<{ seriesId: number; step: number; value: number; wallMs: number }>,
): BlockRow[] {
  // Numeric keys, no per-point objects: this runs in every commit.
  const bySize = BLOCK_SIZES.map(() => new Map<number, Map<number, BlockRow>>());
  const rows: BlockRow[] = [];
  for (const point of points) {
    const { seriesId, step, value, wallMs } = point;
    const nan = Number.isNaN(value);
    for (let level = 0; level < BLOCK_SIZES.length; level++) {
      const size = BLOCK_SIZES[level] as number;
      const start = Math.floor(step / size) * size;
      const levelRows = bySize[level] as Map<number, Map<number, BlockRow>>;
      let series = levelRows.get(seriesId);
      if (series === undefined) {
        series = new Map();
        levelRows.set(seriesId, series);
      }
      const row = series.get(start);
      if (row === undefined) {
        const created: BlockRow = {
          seriesId,
          size,
          start,
          firstStep: step,
          lastStep: step,
          count: 1,
          nans: nan ? 1 : 0,
          min: value,
          max: value,
          last: value,
          lastWallMs: wallMs,
        };
        series.set(start, created);
        rows.push(created);
        continue;
      }
      addPoint(row, step, value, wallMs);
    }
  }
  return rows;
}

/** Folds a point stored after the aggregate's into it (mergeAggregate without an object per point). */
export function addPoint(into: Aggregate, step: number, value: number, wallMs: number): void {
  if (step < into.firstStep) into.firstStep = step;
  if (step >= into.lastStep) {
    into.lastStep = step;
    into.last = value;
    into.lastWallMs = wallMs;
  }
  into.count++;
  if (Number.isNaN(value)) into.nans++;
  else {
    if (Number.isNaN(into.min) || value < into.min) into.min = value;
    if (Number.isNaN(into.max) || value > into.max) into.max = value;
  }
}

/** Appends a block row's columns, in series_blocks' column order, to a multi-row insert's values. */
export function pushBlockRow(values: unknown[], row: BlockRow): void {
  values.push(
    row.seriesId,
    row.size,
    row.start,
    row.firstStep,
    row.lastStep,
    row.count,
    row.nans,
    toStoredValue(row.min),
    toStoredValue(row.max),
    toStoredValue(row.last),
    row.lastWallMs,
  );
}

/** How a long window is bucketed from blocks: buckets of `width` steps from `base`. */
export interface BlockPlan {
  size: number;
  width: number;
  base: number;
}

/**
 * The plan for a window whose points lie in [first, last]: the bucket
 * width from the coarsest block size that still gives at least maxPoints
 * blocks (buckets of as few whole blocks as keep their count <= maxPoints),
 * then read from the coarsest size that tiles that width, its buckets
 * aligned to that size (the same width, the same count at most).
 * Undefined: bucket the raw points (small window, or no level fine enough).
 */
export function planBlocks(first: number, last: number, maxPoints: number): BlockPlan | undefined {
  if (last - first + 1 <= RAW_WINDOW_STEPS) return undefined;
  for (let level = 0; level < BLOCK_SIZES.length; level++) {
    const size = BLOCK_SIZES[level] as number;
    const base = blockStart(first, size);
    const blocks = (blockStart(last, size) - base) / size + 1;
    if (blocks < maxPoints) continue;
    const width = Math.ceil(blocks / maxPoints) * size;
    // A coarser tile has fewer than maxPoints blocks over the window (else it
    // would have been chosen), each no wider than a bucket: aligned to it,
    // the buckets still number at most maxPoints.
    for (let coarser = 0; coarser < level; coarser++) {
      const tile = BLOCK_SIZES[coarser] as number;
      if (width % tile === 0) return { size: tile, width, base: blockStart(first, tile) };
    }
    return { size, width, base };
  }
  return undefined;
}

/** The bucket index of a step (or a block start) under a plan. */
export function bucketOf(plan: BlockPlan, step: number): number {
  return Math.floor((step - plan.base) / plan.width);
}

/**
 * Aggregates in step order (blocks, or edge points) combined into the
 * plan's buckets, in order. Each bucket is its first part's aggregate with
 * the rest of its parts folded into it: the parts are the caller's to give
 * (a copy per bucket was a copy of every row of a 2,000-bucket answer).
 */
export function combineIntoBuckets(
  plan: BlockPlan,
  parts: Iterable<{ at: number; aggregate: Aggregate }>,
): Aggregate[] {
  const buckets: Aggregate[] = [];
  let index = Number.NaN;
  for (const part of parts) {
    const at = bucketOf(plan, part.at);
    const current = buckets[buckets.length - 1];
    if (at === index && current !== undefined) mergeAggregate(current, part.aggregate);
    else {
      buckets.push(part.aggregate);
      index = at;
    }
  }
  return buckets;
}
