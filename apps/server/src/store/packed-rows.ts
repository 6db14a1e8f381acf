import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema';

/**
 * Series windows read from PostgreSQL as a few values instead of a row per
 * block or point: the server packs each column's numbers as float8s into
 * one bytea (`string_agg` in row order), which arrives as one Buffer per
 * column and is read as a Float64Array.
 *
 * Why: node-postgres turns every field of every row into a string and then
 * into a number, and every row into an object: over the ~2,500 rows of a
 * 2,000-bucket window that was ~10 ms of the event loop per call, more
 * than PostgreSQL took to answer (CPU profile of QuerySeries over a
 * 1,000,000-point series). A bytea per column, not one per row of all its
 * columns concatenated: the concatenation made a new value per column and
 * row, and PostgreSQL spent more on it than on reading the rows. SQLite
 * runs in the process and returns its rows cheaply, so it keeps the row
 * queries.
 *
 * Every number packed is exact as a float8: steps, counts and wall times
 * are integers below 2^53. NULL values (NaN points, see series-value.ts)
 * are packed as NaN, which is what readers map NULL to.
 */

/** Columns by name, as read: one Float64Array each, all of one length, row i at index i. */
export type PackedColumns<Column extends string> = Record<Column, Float64Array>;

const FLOAT8_BYTES = 8;

/**
 * The rows of `from` (a subquery that orders them by the first column)
 * as columns: each expression's values packed into one bytea, in the
 * subquery's order (every aggregate of the statement takes the rows in the
 * same order; asking string_agg to order them itself sorted every row again,
 * 16 ms against 7 for ~7,800 rows, and unpackColumns checks the order anyway).
 */
export async function selectColumns<const Column extends string>(
  db: Kysely<Database>,
  columns: readonly (readonly [Column, RawBuilder<unknown>])[],
  from: RawBuilder<unknown>,
): Promise<PackedColumns<Column>> {
  const aggregates = columns.map(
    ([name, expression]) =>
      sql`string_agg(float8send(coalesce((${expression})::float8, 'NaN')), ''::bytea) as ${sql.ref(name)}`,
  );
  const result = await sql<Record<Column, Buffer | null>>`
    select ${sql.join(aggregates)} from ${from}`.execute(db);
  const row = result.rows[0];
  const packed = {} as Record<Column, Buffer | null>;
  for (const [name] of columns) packed[name] = row?.[name] ?? null;
  return unpackColumns(
    packed,
    columns.map(([name]) => name),
  );
}

/**
 * Each column's big-endian float8s as a Float64Array (a buffer is the
 * caller's, read once: its bytes are swapped in place), ascending by the
 * first column: rows that came out of that order are put in it, ties as
 * they came. A null column is no rows. Throws when a column is not whole
 * float8s or the columns differ in length.
 */
export function unpackColumns<const Column extends string>(
  packed: Record<Column, Buffer | null>,
  names: readonly Column[],
): PackedColumns<Column> {
  const columns = {} as PackedColumns<Column>;
  let rows: number | undefined;
  for (const name of names) {
    const bytes = packed[name];
    if (bytes !== null && bytes.byteLength % FLOAT8_BYTES !== 0) {
      throw new Error(`packed column ${name}: ${bytes.byteLength} bytes is not whole float8s`);
    }
    const values = bytes === null ? new Float64Array(0) : nativeFloats(bytes);
    if (rows !== undefined && values.length !== rows) {
      throw new Error(`packed column ${name}: ${values.length} values, the others ${rows}`);
    }
    rows = values.length;
    columns[name] = values;
  }
  const key = names[0];
  if (key === undefined) return columns;
  const first = columns[key];
  for (let row = 1; row < first.length; row++) {
    // PostgreSQL does not promise to aggregate in the subquery's order (it does in practice).
    if ((first[row - 1] as number) > (first[row] as number)) return sortedBy(columns, names, first);
  }
  return columns;
}

/** The columns' rows reordered by `key` ascending (a stable sort: ties keep their order). */
function sortedBy<Column extends string>(
  columns: PackedColumns<Column>,
  names: readonly Column[],
  key: Float64Array,
): PackedColumns<Column> {
  const order = Array.from(key, (_value, index) => index).sort(
    (a, b) => (key[a] as number) - (key[b] as number),
  );
  const sorted = {} as PackedColumns<Column>;
  for (const name of names) {
    const values = columns[name];
    sorted[name] = Float64Array.from(order, (index) => values[index] as number);
  }
  return sorted;
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
