import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The runs page's name order (NAME_ASC) as an index: the display name
 * folded to lower case, else the id, then the id. The expression is the one
 * `StoreReads.orderKey` sorts by, character for character, so SQLite reads a
 * page from the index instead of sorting every run (10,000 runs and more).
 */
export function sessionsDisplayNameMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`create index sessions_display_name on sessions (lower(case when name = '' then id else name end), id)`.execute(
        db,
      );
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('sessions_display_name').execute();
    },
  };
}
