import type { Kysely, Migration } from 'kysely';
import { columnTypes, identityColumn, type StoreEngine } from './column-types';

/**
 * The first schema (see ../schema.ts for what each column means). Never
 * edited once released: a change is a new migration.
 */
export function initialMigration(engine: StoreEngine): Migration {
  const { bytes, int64, double } = columnTypes(engine);
  const identity = identityColumn(engine);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('name', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('client_name', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('client_version', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('created_at_ms', int64, (col) => col.notNull())
        .addColumn('last_update_ms', int64, (col) => col.notNull())
        .addColumn('last_seen_ms', int64, (col) => col.notNull())
        .addColumn('status', 'integer', (col) => col.notNull())
        .addColumn('status_message', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('connection', 'integer', (col) => col.notNull())
        .addColumn('config', bytes)
        .addColumn('model_name', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('dataset_name', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('class_count', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('metadata', bytes)
        .addColumn('note', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('epoch', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('batch_idx', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('latest_loss', double)
        .addColumn('batches_received', int64, (col) => col.notNull().defaultTo(0))
        .addColumn('last_sequence', int64, (col) => col.notNull().defaultTo(0))
        .addColumn('partial_history', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('history_start_step', int64)
        .addColumn('resume_token', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('series_count', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('stored_frames', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('stored_image_bytes', int64, (col) => col.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createIndex('sessions_created')
        .on('sessions')
        .columns(['created_at_ms', 'id'])
        .execute();
      await db.schema
        .createIndex('sessions_updated')
        .on('sessions')
        .columns(['last_update_ms', 'id'])
        .execute();

      await db.schema
        .createTable('session_tags')
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('tag', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('session_tags_pk', ['session_id', 'tag'])
        .execute();
      await db.schema.createIndex('session_tags_tag').on('session_tags').column('tag').execute();

      await db.schema
        .createTable('status_events')
        .addColumn('id', identity, (col) => col.primaryKey())
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('at_ms', int64, (col) => col.notNull())
        .addColumn('status', 'integer', (col) => col.notNull())
        .addColumn('connection', 'integer', (col) => col.notNull())
        .addColumn('message', 'text', (col) => col.notNull())
        .addColumn('event', bytes, (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('status_events_session')
        .on('status_events')
        .columns(['session_id', 'id'])
        .execute();

      await db.schema
        .createTable('series')
        .addColumn('id', identity, (col) => col.primaryKey())
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('kind', 'integer', (col) => col.notNull())
        .addUniqueConstraint('series_session_name_kind', ['session_id', 'name', 'kind'])
        .execute();

      await db.schema
        .createTable('points')
        .addColumn('series_id', int64, (col) => col.notNull())
        .addColumn('step', int64, (col) => col.notNull())
        .addColumn('value', double)
        .addColumn('wall_ms', int64, (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('points_series_step')
        .on('points')
        .columns(['series_id', 'step'])
        .execute();

      await db.schema
        .createTable('epochs')
        .addColumn('id', identity, (col) => col.primaryKey())
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('epoch', 'integer', (col) => col.notNull())
        .addColumn('at_ms', int64, (col) => col.notNull())
        .addColumn('data', bytes, (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('epochs_session')
        .on('epochs')
        .columns(['session_id', 'id'])
        .execute();

      await db.schema
        .createTable('performance')
        .addColumn('id', identity, (col) => col.primaryKey())
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('at_ms', int64, (col) => col.notNull())
        .addColumn('data', bytes, (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('performance_session')
        .on('performance')
        .columns(['session_id', 'id'])
        .execute();

      await db.schema
        .createTable('commands')
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('command_id', 'text', (col) => col.notNull())
        .addColumn('issued_at_ms', int64, (col) => col.notNull())
        .addColumn('entry', bytes, (col) => col.notNull())
        .addPrimaryKeyConstraint('commands_pk', ['session_id', 'command_id'])
        .execute();

      await db.schema
        .createTable('image_frames')
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('step', int64, (col) => col.notNull())
        .addColumn('epoch', 'integer', (col) => col.notNull())
        .addColumn('batch_idx', 'integer', (col) => col.notNull())
        .addColumn('timestamp_ms', int64, (col) => col.notNull())
        .addColumn('bytes', 'integer', (col) => col.notNull())
        .addColumn('frame', bytes, (col) => col.notNull())
        .addPrimaryKeyConstraint('image_frames_pk', ['session_id', 'step'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of [
        'image_frames',
        'commands',
        'performance',
        'epochs',
        'points',
        'series',
        'status_events',
        'session_tags',
        'sessions',
      ]) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
