/**
 * Fills a store directly (no gRPC): finished runs of one step series each,
 * written as the server's writer stores them (points plus their series
 * blocks), so the store benchmark can build 10,000,000 points in a short time.
 */
import { ConnectionState, SeriesKind, TrainingStatus } from '@trainwatch/proto';
/* eslint-disable @nx/enforce-module-boundaries -- the store benchmark writes the server's own
   tables directly, which is far faster than gRPC for millions of points; it measures the store. */
import type { OpenDatabase } from '../../../apps/server/src/store/open-database';
import { RawInsert } from '../../../apps/server/src/store/raw-insert';
import { BLOCK_SIZES, blockRows } from '../../../apps/server/src/store/series-blocks';
import { toStoredValue } from '../../../apps/server/src/store/series-value';
/* eslint-enable @nx/enforce-module-boundaries */

/** Steps generated and committed at once: whole blocks of the largest size, so each block is written once. */
export const FILL_CHUNK_STEPS = 16 * Math.max(...BLOCK_SIZES);
/** Rows per multi-row INSERT (4 parameters each, under both engines' parameter limits). */
const POINT_ROWS_PER_STATEMENT = 7_000;
/** Block rows per multi-row INSERT (11 parameters each). */
const BLOCK_ROWS_PER_STATEMENT = 2_500;

/** The loss-like value logged at `step`: a decay with noise; NaN once every 100,000 steps. */
export function fillValue(step: number): number {
  if (step % 100_000 === 99_999) return Number.NaN;
  return 2 * Math.exp(-step / 200_000) + 0.05 * Math.sin(step / 7) + 0.01 * Math.cos(step * 1.3);
}

/** [from, to) step ranges of at most `chunk` steps covering 0..steps. */
export function chunkRanges(steps: number, chunk = FILL_CHUNK_STEPS): [number, number][] {
  if (!Number.isInteger(steps) || steps < 0)
    throw new RangeError(`steps must be >= 0, got ${steps}`);
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new RangeError(`chunk must be >= 1, got ${chunk}`);
  const ranges: [number, number][] = [];
  for (let from = 0; from < steps; from += chunk)
    ranges.push([from, Math.min(steps, from + chunk)]);
  return ranges;
}

/** One run written by fillRun. */
export interface FilledRun {
  sessionId: string;
  seriesId: number;
  points: number;
}

/** Writes one finished run `sessionId` with a `loss` series of `steps` points (steps 0..steps-1). */
export async function fillRun(
  open: OpenDatabase,
  sessionId: string,
  steps: number,
  createdMs: number,
): Promise<FilledRun> {
  const points = new RawInsert(open, 'insert into points (series_id, step, value, wall_ms)', 4);
  const blocks = new RawInsert(
    open,
    'insert into series_blocks (series_id, block_size, block_start, first_step, last_step, point_count, nan_count, min_v, max_v, last_value, last_wall_ms)',
    11,
  );
  await open.db
    .insertInto('sessions')
    .values({
      id: sessionId,
      name: sessionId,
      created_at_ms: createdMs,
      last_update_ms: createdMs + steps,
      last_seen_ms: createdMs + steps,
      status: TrainingStatus.COMPLETED,
      connection: ConnectionState.CLOSED,
      model_name: 'bench',
      dataset_name: 'noise',
      batches_received: steps,
      last_sequence: steps,
      series_count: 1,
    })
    .execute();
  const series = await open.db
    .insertInto('series')
    .values({ session_id: sessionId, name: 'loss', kind: SeriesKind.STEP })
    .returning('id')
    .executeTakeFirstOrThrow();
  const seriesId = Number(series.id);
  for (const [from, to] of chunkRanges(steps)) {
    const chunk: { seriesId: number; step: number; value: number; wallMs: number }[] = [];
    for (let step = from; step < to; step++) {
      chunk.push({ seriesId, step, value: fillValue(step), wallMs: createdMs + step });
    }
    await open.db.transaction().execute(async (trx) => {
      for (let start = 0; start < chunk.length; start += POINT_ROWS_PER_STATEMENT) {
        const values: unknown[] = [];
        for (const point of chunk.slice(start, start + POINT_ROWS_PER_STATEMENT)) {
          values.push(point.seriesId, point.step, toStoredValue(point.value), point.wallMs);
        }
        await points.run(trx, values);
      }
      const rows = blockRows(chunk);
      for (let start = 0; start < rows.length; start += BLOCK_ROWS_PER_STATEMENT) {
        const values: unknown[] = [];
        for (const row of rows.slice(start, start + BLOCK_ROWS_PER_STATEMENT)) {
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
        await blocks.run(trx, values);
      }
    });
  }
  return { sessionId, seriesId, points: steps };
}
