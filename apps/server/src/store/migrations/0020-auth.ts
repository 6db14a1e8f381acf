import type { Kysely, Migration } from 'kysely';
import { columnTypes, type StoreEngine } from './column-types';

/**
 * Teams and auth: users (scrypt password hashes), API keys and sign-in
 * sessions (SHA-256 hashes of high-entropy secrets, never the secrets), and
 * the key that created each run (a key writes only its own runs).
 */
export function authMigration(engine: StoreEngine): Migration {
  const { int64 } = columnTypes(engine);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('name', 'text', (col) => col.notNull().unique())
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('password_hash', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('created_at_ms', int64, (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull())
        .addColumn('name', 'text', (col) => col.notNull().defaultTo(''))
        .addColumn('secret_hash', 'text', (col) => col.notNull().unique())
        .addColumn('created_at_ms', int64, (col) => col.notNull())
        .addColumn('revoked_at_ms', int64)
        .execute();
      await db.schema
        .createTable('auth_sessions')
        .addColumn('token_hash', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull())
        .addColumn('created_at_ms', int64, (col) => col.notNull())
        .addColumn('expires_at_ms', int64, (col) => col.notNull())
        .execute();
      await db.schema
        .alterTable('sessions')
        .addColumn('owner_key_id', 'text', (col) => col.notNull().defaultTo(''))
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('sessions').dropColumn('owner_key_id').execute();
      await db.schema.dropTable('auth_sessions').execute();
      await db.schema.dropTable('api_keys').execute();
      await db.schema.dropTable('users').execute();
    },
  };
}
