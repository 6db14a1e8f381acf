import type { Kysely, Migration } from 'kysely';
import { columnTypes, type StoreEngine } from './column-types';

/**
 * Confusion matrices: one row per run and epoch, the whole matrix
 * (ConfusionMatrix, binary), replaced as the epoch's batches arrive.
 */
export function confusionMatricesMigration(engine: StoreEngine): Migration {
  const { bytes, int64 } = columnTypes(engine);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('confusion_matrices')
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('epoch', 'integer', (col) => col.notNull())
        .addColumn('predictions', int64, (col) => col.notNull())
        .addColumn('matrix', bytes, (col) => col.notNull())
        .addPrimaryKeyConstraint('confusion_matrices_pk', ['session_id', 'epoch'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('confusion_matrices').execute();
    },
  };
}
