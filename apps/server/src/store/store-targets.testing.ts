import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type OpenDatabase } from './open-database';

/** An engine a store suite runs against: opens a fresh, empty store per test. */
export interface StoreTarget {
  engine: 'sqlite' | 'postgres';
  open(): Promise<OpenDatabase>;
  cleanUp(): Promise<void>;
}

/** SQLite in a temp DATA_DIR per test. */
export function sqliteTarget(): StoreTarget {
  let dir: string | undefined;
  return {
    engine: 'sqlite',
    open: () => {
      dir = mkdtempSync(join(tmpdir(), 'store-reads-'));
      return openDatabase({ engine: 'sqlite', dataDir: dir });
    },
    cleanUp: async () => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}

/** Every engine the store suites run on. */
export function storeTargets(): StoreTarget[] {
  return [sqliteTarget()];
}
