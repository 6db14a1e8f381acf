import { existsSync, statSync } from 'node:fs';
import { sql } from 'kysely';
import type { OpenDatabase } from '../store/open-database';

/** How long SQLite's VACUUM waits for a running server's commit to finish before it takes the lock. */
const VACUUM_BUSY_TIMEOUT_MS = 60_000;

export interface VacuumSummary {
  /** Bytes of the store before and after (SQLite: the file and its WAL; PostgreSQL: the database). */
  before: number;
  after: number;
}

/**
 * Gives the space of deleted runs back. SQLite: `VACUUM` rewrites the file
 * without its free pages (deleted runs leave them for reuse, the file never
 * shrinks by itself), then the WAL is checkpointed and truncated; a running
 * server's commits wait meanwhile (and retry, acks held, if it takes longer
 * than their lock timeout). PostgreSQL: `VACUUM (ANALYZE)`, which runs beside
 * the server, marks dead rows' space reusable and refreshes the planner's
 * statistics (its files shrink only with VACUUM FULL, which locks each
 * table; autovacuum does the same work on its own schedule).
 */
export async function vacuumStore(open: OpenDatabase): Promise<VacuumSummary> {
  const sqlite = open.sqlite;
  if (sqlite !== undefined) {
    const size = () =>
      [sqlite.name, `${sqlite.name}-wal`].reduce(
        (sum, file) => sum + (existsSync(file) ? statSync(file).size : 0),
        0,
      );
    const before = size();
    sqlite.pragma(`busy_timeout = ${VACUUM_BUSY_TIMEOUT_MS}`);
    sqlite.exec('vacuum');
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    return { before, after: size() };
  }
  const size = async () =>
    Number(
      (
        await sql<{ bytes: number }>`select pg_database_size(current_database()) as bytes`.execute(
          open.db,
        )
      ).rows[0]?.bytes ?? 0,
    );
  const before = await size();
  await sql`vacuum (analyze)`.execute(open.db);
  return { before, after: await size() };
}
