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
import {
  BLOCK_SIZES,
  blockRows,
  blockStart,
  pushBlockRow,
} from '../../../apps/server/src/store/series-blocks';
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

/**
 * Writes one finished run `sessionId` with a series of `steps` points (steps
 * 0..steps-1) per name (`loss` alone by default; each further series is the
 * loss curve scaled and shifted, so overlaid runs differ).
 */
export async function fillRun(
  open: OpenDatabase,
  sessionId: string,
  steps: number,
  createdMs: number,
  seriesNames: readonly string[] = ['loss'],
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
      series_count: seriesNames.length,
    })
    .execute();
  let firstSeriesId = -1;
  for (const [index, name] of seriesNames.entries()) {
    const series = await open.db
      .insertInto('series')
      .values({ session_id: sessionId, name, kind: SeriesKind.STEP })
      .returning('id')
      .executeTakeFirstOrThrow();
    const seriesId = Number(series.id);
    if (index === 0) firstSeriesId = seriesId;
    await fillSeries(points, blocks, open, seriesId, steps, createdMs, 1 + index / 4);
  }
  return { sessionId, seriesId: firstSeriesId, points: steps * seriesNames.length };
}

async function fillSeries(
  points: RawInsert,
  blocks: RawInsert,
  open: OpenDatabase,
  seriesId: number,
  steps: number,
  createdMs: number,
  scale: number,
): Promise<void> {
  for (const [from, to] of chunkRanges(steps)) {
    const chunk: { seriesId: number; step: number; value: number; wallMs: number }[] = [];
    for (let step = from; step < to; step++) {
      chunk.push({ seriesId, step, value: scale * fillValue(step), wallMs: createdMs + step });
    }
    await open.db.transaction().execute(async (trx) => {
      for (let start = 0; start < chunk.length; start += POINT_ROWS_PER_STATEMENT) {
        const values: unknown[] = [];
        for (const point of chunk.slice(start, start + POINT_ROWS_PER_STATEMENT)) {
          values.push(point.seriesId, point.step, toStoredValue(point.value), point.wallMs);
        }
        await points.run(trx, values);
      }
      // Closed blocks only, as the server's writer keeps them: the open block of each size (the one
      // holding the last step) has no row, so reads take its steps from the points.
      const rows = blockRows(chunk).filter((row) => row.start < blockStart(steps - 1, row.size));
      for (let start = 0; start < rows.length; start += BLOCK_ROWS_PER_STATEMENT) {
        const values: unknown[] = [];
        for (const row of rows.slice(start, start + BLOCK_ROWS_PER_STATEMENT)) {
          pushBlockRow(values, row);
        }
        await blocks.run(trx, values);
      }
    });
  }
}

/** Run rows written per INSERT by fillRunRows (16 columns each, under SQLite's parameter limit). */
const RUN_ROWS_PER_STATEMENT = 500;

/**
 * Writes `count` finished runs with no series (`list-00000`...), as a runs
 * list at scale sees them: names, models, datasets and tags vary, so search
 * and sort have something to do. Created one second apart, newest last.
 */
export async function fillRunRows(
  open: OpenDatabase,
  count: number,
  createdMs: number,
): Promise<void> {
  const models = ['resnet18', 'resnet50', 'vit-small', 'mlp'];
  const datasets = ['cifar10', 'imagenet', 'mnist'];
  for (let start = 0; start < count; start += RUN_ROWS_PER_STATEMENT) {
    const rows = [];
    const tags = [];
    for (let i = start; i < Math.min(count, start + RUN_ROWS_PER_STATEMENT); i++) {
      const id = `list-${String(i).padStart(5, '0')}`;
      rows.push({
        id,
        name: `sweep ${i % 97} lr ${(i % 13) / 1000}`,
        created_at_ms: createdMs + i * 1000,
        last_update_ms: createdMs + i * 1000 + 500,
        last_seen_ms: createdMs + i * 1000 + 500,
        status: i % 20 === 0 ? TrainingStatus.FAILED : TrainingStatus.COMPLETED,
        connection: ConnectionState.CLOSED,
        model_name: models[i % models.length] ?? '',
        dataset_name: datasets[i % datasets.length] ?? '',
        batches_received: 1000,
        last_sequence: 1000,
      });
      tags.push({ session_id: id, tag: i % 2 === 0 ? 'baseline' : 'sweep' });
    }
    await open.db.insertInto('sessions').values(rows).execute();
    await open.db.insertInto('session_tags').values(tags).execute();
  }
}
