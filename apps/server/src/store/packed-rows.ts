import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema';

/**
 * Series windows read from PostgreSQL as one value instead of a row per
 * block or point: the server packs each row's numbers as float8s into one
 * bytea (`string_agg` in row order), which arrives as one Buffer.
 *
 * Why: node-postgres turns every field of every row into a string and then
 * into a number, and every row into an object: over the ~2,500 rows of a
 * 2,000-bucket window that was ~10 ms of the event loop per call, more
 * than PostgreSQL took to answer (CPU profile of QuerySeries over a
 * 1,000,000-point series). SQLite runs in the process and returns its rows
 * cheaply, so it keeps the row queries.
 *
 * Every number packed is exact as a float8: steps, counts and wall times
 * are integers below 2^53. NULL values (NaN points, see series-value.ts)
 * are packed as NaN, which is what readers map NULL to.
 */

/** A bucket of whole blocks: the columns of store-reads' BlockBucketRow, in this order. */
export const BLOCK_COLUMNS = [
  'at',
  'first_step',
  'last_step',
  'n',
  'nans',
  'min_v',
  'max_v',
  'last_value',
  'last_wall_ms',
] as const;

/** A point: step, value, wall time. */
export const POINT_COLUMNS = ['step', 'value', 'wall_ms'] as const;

const FLOAT8_BYTES = 8;

/** `float8send(coalesce(e::float8, 'NaN'))` of each expression, concatenated: one row's bytes. */
export function packedRow(expressions: readonly RawBuilder<unknown>[]): RawBuilder<unknown> {
  return sql.join(
    expressions.map((expression) => sql`float8send(coalesce((${expression})::float8, 'NaN'))`),
    sql` || `,
  );
}

/**
 * The rows of `from` (a subquery that orders them by their first packed
 * column), packed as one bytea; null when there are none. The aggregate
 * takes the rows in the subquery's order: asking string_agg to order them
 * itself sorted every packed row again (16 ms against 7 for ~7,800 rows),
 * and unpackRows checks the order anyway.
 */
export async function selectPacked(
  db: Kysely<Database>,
  row: RawBuilder<unknown>,
  from: RawBuilder<unknown>,
): Promise<Buffer | null> {
  const result = await sql<{ packed: Buffer | null }>`
    select string_agg(${row}, ''::bytea) as packed from ${from}`.execute(db);
  return result.rows[0]?.packed ?? null;
}

/**
 * The packed rows as objects with `columns` as keys (numbers; NaN where
 * the column was NULL), ascending by the first column. Throws when the
 * bytes are not whole rows. The big-endian float8s are swapped in place
 * (the buffer is the caller's, read once) and read through a Float64Array,
 * not with a readDoubleBE per value (CPU profile of 100 answers of 2,000
 * buckets: 116 → 88 ms in this function, most of it now the row objects).
 */
export function unpackRows<const Column extends string>(
  packed: Buffer | null,
  columns: readonly [Column, ...Column[]],
): Record<Column, number>[] {
  if (packed === null) return [];
  const width = columns.length;
  const rowBytes = width * FLOAT8_BYTES;
  if (packed.byteLength % rowBytes !== 0) {
    throw new Error(
      `packed rows: ${packed.byteLength} bytes is not a whole number of ${rowBytes}-byte rows`,
    );
  }
  const values = nativeFloats(packed);
  const key = columns[0];
  const rows: Record<Column, number>[] = [];
  let ascending = true;
  for (let at = 0; at < values.length; at += width) {
    const row = {} as Record<Column, number>;
    for (let column = 0; column < width; column++) {
      row[columns[column] as Column] = values[at + column] as number;
    }
    const previous = rows[rows.length - 1];
    if (previous !== undefined && previous[key] > row[key]) ascending = false;
    rows.push(row);
  }
  // PostgreSQL does not promise to aggregate in the subquery's order (it does in practice).
  return ascending ? rows : rows.sort((a, b) => a[key] - b[key]);
}

/** Whether this machine stores a float8's low byte first (as x86 and ARM do). */
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[0] === 0;

/** The buffer's big-endian float8s as a Float64Array (the buffer's bytes swapped in place). */
function nativeFloats(packed: Buffer): Float64Array {
  let aligned = packed;
  if (packed.byteOffset % FLOAT8_BYTES !== 0) {
    aligned = Buffer.from(new ArrayBuffer(packed.byteLength));
    packed.copy(aligned);
  }
  if (LITTLE_ENDIAN) aligned.swap64();
  return new Float64Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / FLOAT8_BYTES);
}
