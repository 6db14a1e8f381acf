import { Logger } from '@nestjs/common';
import type { ServerSettings } from '../config/server-config';
import { lockDataDir } from './data-dir-lock';
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

/**
 * The server's store: as openStoreDatabase, and for SQLite with DATA_DIR
 * locked to this process until the store closes (data-dir-lock.ts), so a
 * second server on the same folder refuses to start. The admin commands
 * open the store without the lock.
 */
export async function openServerStore(settings: ServerSettings): Promise<StoreDatabase> {
  if (settings.storeEngine !== 'sqlite') return openStoreDatabase(settings);
  const lock = lockDataDir(settings.dataDir, (message) => new Logger('Store').warn(message));
  let open: StoreDatabase;
  try {
    open = await openStoreDatabase(settings);
  } catch (error) {
    lock.release();
    throw error;
  }
  if (open === null) {
    lock.release();
    return null;
  }
  const close = open.close;
  return {
    ...open,
    checkLock: () => lock.check(),
    close: async () => {
      try {
        await close();
      } finally {
        lock.release();
      }
    },
  };
}
