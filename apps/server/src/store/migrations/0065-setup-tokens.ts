import type { Kysely, Migration } from 'kysely';
import { columnTypes, type StoreEngine } from './column-types';

/**
 * One-time setup tokens for the first admin, kept in the store (SHA-256 of
 * each token) so that a token printed by one replica is accepted by every
 * replica sharing the store; all of them are deleted once an admin exists.
 */
export function setupTokensMigration(engine: StoreEngine): Migration {
  const { int64 } = columnTypes(engine);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('setup_tokens')
        .addColumn('token_hash', 'text', (col) => col.primaryKey())
        .addColumn('created_at_ms', int64, (col) => col.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('setup_tokens').execute();
    },
  };
}
