import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreEngine } from './column-types';

/** PostgreSQL sequence handing each server process its frame writer number. */
export const FRAME_WRITERS_SEQUENCE = 'frame_writers';

/**
 * PostgreSQL with FRAMES_DIR keeps image frames in segment files that every
 * replica shares (frame-files.ts): a frame's row names the writer whose
 * file holds it (`file_writer`; null for SQLite's, whose files carry no
 * writer), and each server process takes its writer number from
 * `frame_writers` when it opens the store. Adding a nullable column
 * rewrites nothing.
 */
export function imageFrameWritersMigration(engine: StoreEngine): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('image_frames').addColumn('file_writer', 'integer').execute();
      if (engine !== 'postgres') return;
      // 2^21 - 1 = MAX_FRAME_WRITER: segment keys stay exact JavaScript numbers.
      await sql`create sequence ${sql.id(FRAME_WRITERS_SEQUENCE)} minvalue 1 maxvalue 2097151 no cycle`.execute(
        db,
      );
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (engine === 'postgres') {
        await sql`drop sequence ${sql.id(FRAME_WRITERS_SEQUENCE)}`.execute(db);
      }
      await db.schema.alterTable('image_frames').dropColumn('file_writer').execute();
    },
  };
}
