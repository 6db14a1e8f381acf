import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type Transaction } from 'kysely';
import type { OpenDatabase } from './open-database';
import { rowPlaceholders } from './raw-statement';
import type { Database } from './schema';

/** Distinct statement texts kept per connection (row counts vary per commit; the common ones stay). */
const MAX_CACHED_STATEMENTS = 256;

/**
 * A multi-row INSERT written out directly, for the tables every commit
 * fills (points, image frames): building it through Kysely's query builder
 * costs ~5 ms per 1,200 rows on the event loop, this a string join. SQLite
 * statements are prepared once per text and reused.
 */
export class RawInsert {
  private readonly texts = new Map<number, string>();
  private readonly statements = new Map<number, BetterSqlite3.Statement>();

  /**
   * @param prefix `insert into t (a, b)`
   * @param columns columns per row
   * @param suffix e.g. an `on conflict` clause
   */
  constructor(
    private readonly open: OpenDatabase,
    private readonly prefix: string,
    private readonly columns: number,
    private readonly suffix = '',
  ) {}

  /** Inserts `rows` (`values` holds them flattened, `columns` per row). */
  async run(trx: Transaction<Database>, values: unknown[]): Promise<void> {
    const rows = values.length / this.columns;
    if (rows === 0) return;
    // With the write thread, `trx` records the statement for the thread (recording-dialect.ts).
    const sqlite = this.open.writeThread === undefined ? this.open.sqlite : undefined;
    if (sqlite !== undefined) {
      let statement = this.statements.get(rows);
      if (statement === undefined) {
        if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.clear();
        statement = sqlite.prepare(this.text(rows));
        this.statements.set(rows, statement);
      }
      // Same connection as `trx`: it runs inside the commit's transaction.
      statement.run(values);
      return;
    }
    await trx.executeQuery(CompiledQuery.raw(this.text(rows), values));
  }

  /**
   * Inserts rows of numbers only, flattened (`columns` per row; NaN stored
   * as NULL). The write thread gets them as they are, one copy; otherwise
   * they become parameters here.
   */
  async runNumbers(trx: Transaction<Database>, values: Float64Array): Promise<void> {
    if (this.open.writeThread !== undefined) {
      const rows = values.length / this.columns;
      if (rows === 0) return;
      // The array as the only parameter: the thread binds its numbers (RecordedStatement).
      await trx.executeQuery(CompiledQuery.raw(this.text(rows), [values]));
      return;
    }
    await this.run(
      trx,
      Array.from(values, (value) => (Number.isNaN(value) ? null : value)),
    );
  }

  private text(rows: number): string {
    let text = this.texts.get(rows);
    if (text !== undefined) return text;
    const slots =
      this.open.engine === 'postgres'
        ? numberedRows(rows, this.columns)
        : rowPlaceholders(rows, this.columns);
    text = `${this.prefix} values ${slots} ${this.suffix}`;
    if (this.texts.size >= MAX_CACHED_STATEMENTS) this.texts.clear();
    this.texts.set(rows, text);
    return text;
  }
}

/** `($1,$2),($3,$4)` for PostgreSQL. */
function numberedRows(rows: number, columns: number): string {
  const parts: string[] = [];
  let parameter = 1;
  for (let row = 0; row < rows; row++) {
    const slots: string[] = [];
    for (let column = 0; column < columns; column++) slots.push(`$${parameter++}`);
    parts.push(`(${slots.join(',')})`);
  }
  return parts.join(',');
}
