import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type Transaction } from 'kysely';
import type { OpenDatabase } from './open-database';
import type { Database } from './schema';

/** Distinct statement texts kept prepared per connection (IN lists vary in length; the common ones stay). */
const MAX_CACHED_STATEMENTS = 256;

/**
 * Statements every commit runs (session rows, frame retention, confusion
 * matrices), written with `?` placeholders and, on SQLite, prepared once
 * per text and reused: Kysely compiles and SQLite prepares a statement
 * again on every call, which the CPU profile put at ~10% of the server's
 * time under image ingest. On PostgreSQL the text is numbered ($1, $2...)
 * once and sent through the transaction.
 */
export class RawStatements {
  private readonly prepared = new Map<string, BetterSqlite3.Statement>();
  private readonly numbered = new Map<string, string>();

  constructor(private readonly open: OpenDatabase) {}

  /** Runs `text` with `values` inside `trx` (same connection on SQLite). */
  async run(trx: Transaction<Database>, text: string, values: readonly unknown[]): Promise<void> {
    if (this.open.engine === 'sqlite' && this.open.writeThread !== undefined) {
      // `trx` records the statement for the write thread (recording-dialect.ts), which prepares it.
      await trx.executeQuery(CompiledQuery.raw(text, [...values]));
      return;
    }
    const sqlite = this.open.sqlite;
    if (sqlite !== undefined) {
      let statement = this.prepared.get(text);
      if (statement === undefined) {
        if (this.prepared.size >= MAX_CACHED_STATEMENTS) this.prepared.clear();
        statement = sqlite.prepare(text);
        this.prepared.set(text, statement);
      }
      statement.run(values);
      return;
    }
    let postgres = this.numbered.get(text);
    if (postgres === undefined) {
      let parameter = 0;
      postgres = text.replace(/\?/g, () => `$${++parameter}`);
      if (this.numbered.size >= MAX_CACHED_STATEMENTS) this.numbered.clear();
      this.numbered.set(text, postgres);
    }
    await trx.executeQuery(CompiledQuery.raw(postgres, [...values]));
  }
}

/**
 * `(?,?),(?,?)`: `rows` rows of `columns` placeholders, built by repetition:
 * a commit's row count differs from the last one's more often than not, and
 * a join over a string per parameter was a twentieth of the server's
 * allocation at 50 trainers × 20 named metrics.
 */
export function rowPlaceholders(rows: number, columns: number): string {
  const row = `(${'?,'.repeat(columns - 1)}?)`;
  return `${`${row},`.repeat(rows - 1)}${row}`;
}
