import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '@trainwatch/testing';
import { openDatabase, type OpenDatabase } from '../src/store/open-database';

/**
 * One engine the store suites run against: each test gets a store of its
 * own (a temp DATA_DIR, or a fresh PostgreSQL database), the server
 * settings that select it, and a second connection to read what was committed.
 */
export interface StoreEngineFixture {
  readonly name: 'SQLite' | 'PostgreSQL' | 'PostgreSQL with FRAMES_DIR';
  /** Called in beforeAll (starts the throwaway PostgreSQL). */
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A new, empty store: the server env that selects it and how to open it again. */
  newStore(): Promise<TestStore>;
  /** The throwaway PostgreSQL (undefined for SQLite). */
  readonly postgres: TestPostgres | undefined;
}

export interface TestStore {
  env: Record<string, string>;
  open(): Promise<OpenDatabase>;
  remove(): void;
}

function sqliteFixture(): StoreEngineFixture {
  return {
    name: 'SQLite',
    postgres: undefined,
    setUp: () => Promise.resolve(),
    tearDown: () => Promise.resolve(),
    newStore: () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-store-'));
      return Promise.resolve({
        env: { STORE_ENGINE: 'sqlite', DATA_DIR: dataDir },
        open: () => openDatabase({ engine: 'sqlite', dataDir }),
        remove: () => rmSync(dataDir, { recursive: true, force: true }),
      });
    },
  };
}

function postgresFixture({ framesDir = false } = {}): StoreEngineFixture {
  let postgres: TestPostgres | undefined;
  return {
    name: framesDir ? 'PostgreSQL with FRAMES_DIR' : 'PostgreSQL',
    get postgres() {
      return postgres;
    },
    async setUp() {
      postgres = await startPostgres();
    },
    async tearDown() {
      await postgres?.destroy();
    },
    async newStore(): Promise<TestStore> {
      if (postgres === undefined) throw new Error('setUp first');
      const url = await postgres.createDatabase();
      if (!framesDir) {
        return {
          env: { STORE_ENGINE: 'postgres', DATABASE_URL: url },
          open: () => openDatabase({ engine: 'postgres', url }),
          remove: () => undefined,
        };
      }
      const frames = mkdtempSync(join(tmpdir(), 'trainwatch-shared-frames-'));
      return {
        env: { STORE_ENGINE: 'postgres', DATABASE_URL: url, FRAMES_DIR: frames },
        open: () => openDatabase({ engine: 'postgres', url, framesDir: frames }),
        remove: () => rmSync(frames, { recursive: true, force: true }),
      };
    },
  };
}

/** Both engines, for `describe.each`. */
export const STORE_ENGINES: [string, () => StoreEngineFixture][] = [
  ['SQLite', sqliteFixture],
  ['PostgreSQL', () => postgresFixture()],
];

/** PostgreSQL with image frames in segment files (FRAMES_DIR), for the suites about frames. */
export const POSTGRES_WITH_FRAMES_DIR: [string, () => StoreEngineFixture] = [
  'PostgreSQL with FRAMES_DIR',
  () => postgresFixture({ framesDir: true }),
];

/** A bare session row (a run's other tables reference it), as a fresh registration would write it. */
export function bareSessionRow(id: string) {
  return { id, created_at_ms: 1, last_update_ms: 1, last_seen_ms: 1, status: 1, connection: 1 };
}

/** Inserts bare session rows. */
export async function insertBareSessions(
  open: OpenDatabase,
  ids: readonly string[],
): Promise<void> {
  await open.db.insertInto('sessions').values(ids.map(bareSessionRow)).execute();
}
