import type { ServerSettings } from '../config/server-config';
import { openDatabase, type OpenDatabase } from './open-database';

/** Injection token of the open store; null when STORE_ENGINE=memory. */
export const STORE_DATABASE = Symbol('STORE_DATABASE');

export type StoreDatabase = OpenDatabase | null;

/** Opens the store the settings name (migrations applied), or none for 'memory'. */
export function openStoreDatabase(settings: ServerSettings): Promise<StoreDatabase> {
  switch (settings.storeEngine) {
    case 'memory':
      return Promise.resolve(null);
    case 'sqlite':
      return openDatabase({
        engine: 'sqlite',
        dataDir: settings.dataDir,
        writeThread: settings.storeWriteThread,
      });
    case 'postgres':
      return openDatabase({
        engine: 'postgres',
        url: settings.databaseUrl,
        framesDir: settings.framesDir === '' ? undefined : settings.framesDir,
      });
  }
}
