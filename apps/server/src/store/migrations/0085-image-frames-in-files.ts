import type { Kysely, Migration } from 'kysely';
import { columnTypes, type StoreEngine } from './column-types';

/**
 * Where an image frame's bytes are when they are not in its row: segment
 * file and offset under the store's frames folder (frame-files.ts; SQLite's
 * store writer). Such a row's `frame` is empty. Both null: the bytes are in
 * `frame`, as every frame stored before, and every PostgreSQL frame.
 */
export function imageFramesInFilesMigration(engine: StoreEngine): Migration {
  const { int64 } = columnTypes(engine);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('image_frames').addColumn('file_segment', 'integer').execute();
      await db.schema.alterTable('image_frames').addColumn('file_offset', int64).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('image_frames').dropColumn('file_offset').execute();
      await db.schema.alterTable('image_frames').dropColumn('file_segment').execute();
    },
  };
}
