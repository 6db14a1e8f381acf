import { SeriesKind } from '@trainwatch/proto';
import { planClosing, storedThrough, writeClosingBlocks } from '../src/store/closing-blocks';
import type { OpenDatabase } from '../src/store/open-database';
import {
  bucketOf,
  mergeAggregate,
  planBlocks,
  pointAggregate,
  type Aggregate,
} from '../src/store/series-blocks';
import { toStoredValue } from '../src/store/series-value';
import { storedBucket, type StoredBucket } from '../src/store/store-reads';
import { WriterState } from '../src/store/write-flush';
import type { Database } from '../src/store/schema';
import type { Transaction } from 'kysely';

/**
 * Points of a series stored the way the store writer stores them, and the
 * answer the raw points give, for the series-blocks specs.
 */

export interface Point {
  seriesId: number;
  step: number;
  value: number;
  wallMs: number;
}

/** A deterministic pseudo-random sequence (mulberry32), so a failure can be replayed. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Stores points the way the writer does (points and the blocks they close
 * in one transaction), one commit per chunk. `state` carries the open blocks
 * across calls; a new one is a restarted writer. `failing(chunk)`: that
 * chunk's first commit fails after its statements ran (rolled back), and is
 * retried as the writer retries it.
 */
export async function store(
  open: OpenDatabase,
  points: Point[],
  perCommit: number,
  state = new WriterState(open),
  failing: (chunk: number) => boolean = () => false,
): Promise<void> {
  for (let start = 0; start < points.length; start += perCommit) {
    const chunk = points.slice(start, start + perCommit);
    if (failing(start / perCommit)) {
      let planned: ReturnType<typeof planClosing> | undefined;
      await expect(
        open.db.transaction().execute(async (trx) => {
          planned = await commit(trx, chunk, state);
          throw new Error('disk full');
        }),
      ).rejects.toThrow('disk full');
      // As writeFlush does when a commit fails.
      if (planned !== undefined) state.openBlocks.forget(planned);
    }
    await open.db.transaction().execute(async (trx) => {
      state.openBlocks.apply(await commit(trx, chunk, state));
    });
  }
}

/** One commit's points and closing blocks; the plan, to apply once it succeeded. */
async function commit(
  trx: Transaction<Database>,
  chunk: Point[],
  state: WriterState,
): Promise<ReturnType<typeof planClosing>> {
  // As the writer does: how far the stored points of series it has not written yet reach, before this commit's.
  const first = [...new Set(chunk.map((point) => point.seriesId))].filter(
    (id) => !state.openBlocks.has(id),
  );
  const through = await storedThrough(trx, first);
  await trx
    .insertInto('points')
    .values(
      chunk.map((point) => ({
        series_id: point.seriesId,
        step: point.step,
        value: toStoredValue(point.value),
        wall_ms: point.wallMs,
      })),
    )
    .execute();
  const plan = planClosing(
    state.openBlocks,
    chunk.map((point) => ({
      seriesId: point.seriesId,
      steps: [point.step],
      values: [point.value],
      wallMs: [point.wallMs],
      size: 1,
    })),
    through,
  );
  await writeClosingBlocks(trx, state.statements, state.postgres, plan);
  return plan;
}

/** The raw-points answer: every point of the window, in storage order, folded into the plan's buckets. */
export function reference(
  points: Point[],
  from: number,
  to: number,
  maxPoints: number,
): { buckets: StoredBucket[]; total: number } {
  const inside = points.filter((point) => point.step >= from && point.step <= to);
  const steps = inside.map((point) => point.step);
  const plan = planBlocks(Math.min(...steps), Math.max(...steps), maxPoints);
  if (plan === undefined) throw new Error('window too small for blocks');
  const byBucket = new Map<number, Aggregate>();
  for (const point of inside) {
    const one = pointAggregate(point.step, point.value, point.wallMs);
    const at = bucketOf(plan, point.step);
    const bucket = byBucket.get(at);
    if (bucket === undefined) byBucket.set(at, one);
    else mergeAggregate(bucket, one);
  }
  const buckets = [...byBucket.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, bucket]) => storedBucket(bucket));
  return { buckets, total: inside.length };
}

/** A run with one series ('loss'); its id. */
export async function newSeries(open: OpenDatabase, sessionId = 'r'): Promise<number> {
  await open.db
    .insertInto('sessions')
    .values({
      id: sessionId,
      created_at_ms: 1,
      last_update_ms: 1,
      last_seen_ms: 1,
      status: 1,
      connection: 1,
    })
    .execute();
  const row = await open.db
    .insertInto('series')
    .values({ session_id: sessionId, name: 'loss', kind: SeriesKind.STEP })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}
