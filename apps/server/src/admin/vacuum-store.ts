import { existsSync, statSync } from 'node:fs';
import { sql } from 'kysely';
import type { OpenDatabase } from '../store/open-database';

/** How long SQLite's VACUUM waits for a running server's commit to finish before it takes the lock. */
const VACUUM_BUSY_TIMEOUT_MS = 60_000;
/**
 * How long the WAL truncation after VACUUM waits for other connections to
 * stop reading from the WAL: a running server's reads end within a moment,
 * a connection held open in a read (a stream, a tool) may not, and the space
 * then comes back at its next checkpoint anyway.
 */
const TRUNCATE_BUSY_TIMEOUT_MS = 5_000;

export interface VacuumSummary {
  /**
   * Bytes of the store before and after (SQLite: the file and its WAL, after:
   * the compacted database; PostgreSQL: the database).
   */
  before: number;
  after: number;
  /**
   * SQLite, when the WAL could not be truncated (another connection was
   * reading from it): bytes on disk now, file and WAL. VACUUM wrote the
   * compacted database into the WAL, so until a checkpoint copies it back the
   * old file and the WAL are both there (86 MB file + 56 MB WAL read as
   * "142.6 MB after" when both were simply added up).
   */
  onDiskUntilCheckpoint?: number;
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
    sqlite.pragma(`busy_timeout = ${TRUNCATE_BUSY_TIMEOUT_MS}`);
    const [truncated] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (truncated?.busy === 0) return { before, after: size() };
    const pages = sqlite.pragma('page_count', { simple: true }) as number;
    const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
    return { before, after: pages * pageSize, onDiskUntilCheckpoint: size() };
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
