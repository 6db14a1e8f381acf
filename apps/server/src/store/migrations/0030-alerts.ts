import type { Kysely, Migration } from 'kysely';
import { columnTypes, type StoreEngine } from './column-types';

/**
 * Alerts kept: one row per watchdog alert, replaced as it changes (folded
 * firings, acknowledgement, webhook failures); each run's alert settings
 * (effective rules, its own webhook URLs, what an operator changed); and
 * the count of open alerts on the run's row, for lists of stored runs.
 */
export function alertsMigration(engine: StoreEngine): Migration {
  const { bytes, int64 } = columnTypes(engine);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('alerts')
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('alert_id', 'text', (col) => col.notNull())
        .addColumn('first_at_ms', int64, (col) => col.notNull())
        .addColumn('acknowledged_at_ms', int64, (col) => col.notNull().defaultTo(0))
        .addColumn('alert', bytes, (col) => col.notNull())
        .addPrimaryKeyConstraint('alerts_pk', ['session_id', 'alert_id'])
        .execute();
      await db.schema
        .createIndex('alerts_by_time')
        .on('alerts')
        .columns(['session_id', 'first_at_ms'])
        .execute();
      await db.schema
        .createTable('alert_settings')
        .addColumn('session_id', 'text', (col) => col.primaryKey())
        .addColumn('settings', bytes, (col) => col.notNull())
        .addColumn('operator_rules', bytes, (col) => col.notNull())
        .addColumn('webhooks_from_operator', 'integer', (col) => col.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('sessions')
        .addColumn('open_alerts', 'integer', (col) => col.notNull().defaultTo(0))
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('sessions').dropColumn('open_alerts').execute();
      await db.schema.dropTable('alert_settings').execute();
      await db.schema.dropIndex('alerts_by_time').execute();
      await db.schema.dropTable('alerts').execute();
    },
  };
}
