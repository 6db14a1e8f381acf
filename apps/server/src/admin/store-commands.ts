import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ServerSettings } from '../config/server-config';
import { openDatabase, SQLITE_FILE } from '../store/open-database';
import { serverRunsOn } from '../store/data-dir-lock';
import { openStoreDatabase } from '../store/store-database';
import { fullDisk } from '../store/store-errors';
import { AdminError } from './admin-error';
import { backupSqliteStore } from './backup-store';
import { copySqliteToPostgres, redactedUrl } from './copy-store';
import { vacuumStore } from './vacuum-store';

type Out = (line: string) => void;

const count = (value: number) => value.toLocaleString('en-US');
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const secondsSince = (started: number) => ((Date.now() - started) / 1000).toFixed(1);

/** The SQLite file of the store the settings name; AdminError (exit 2) when they name none. */
function sqliteFile(settings: ServerSettings, command: string, otherwise: string): string {
  if (settings.storeEngine !== 'sqlite') {
    throw new AdminError(
      `${command} copies a SQLite store (DATA_DIR); these settings name ${settings.storeEngine}: ${otherwise}`,
      2,
    );
  }
  const file = join(settings.dataDir, SQLITE_FILE);
  if (!existsSync(file)) {
    throw new AdminError(
      `no SQLite store at ${file} (set DATA_DIR to the folder that holds it)`,
      2,
    );
  }
  return file;
}

/** `copy-store`: the SQLite store the settings name into an empty PostgreSQL database. */
export async function copyStore(
  url: string | undefined,
  framesDir: string | undefined,
  settings: ServerSettings,
  out: Out,
): Promise<void> {
  if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) {
    throw new AdminError(
      'copy-store --to <postgres://user:password@host:5432/database> [--frames-dir <dir>]',
      2,
    );
  }
  const file = sqliteFile(settings, 'copy-store', 'unset DATABASE_URL and STORE_ENGINE');
  if (serverRunsOn(settings.dataDir)) {
    throw new AdminError(
      `a trainwatch server is running on ${settings.dataDir}: stop it first ` +
        '(what it stores after the copy begins would not reach PostgreSQL)',
    );
  }
  const started = Date.now();
  out(`copying ${file} into ${redactedUrl(url)}`);
  const source = await openDatabase({ engine: 'sqlite', dataDir: settings.dataDir });
  try {
    const target = await openDatabase({ engine: 'postgres', url, setting: '--to' }).catch(
      (error: unknown) => {
        throw new AdminError(`cannot open ${redactedUrl(url)}: ${messageOf(error)}`);
      },
    );
    try {
      const copied = await copySqliteToPostgres(source, target, { framesDir, out });
      out(
        `copied ${count(copied.rows.sessions)} runs, ${count(copied.rows.points)} points, ${count(copied.rows.image_frames)} image frames` +
          ` and ${count(copied.rows.users)} users in ${secondsSince(started)} s` +
          (framesDir === undefined
            ? ''
            : ` (${copied.segmentFiles} segment files into ${framesDir})`),
      );
      out(
        `start the server with DATABASE_URL=<that url>${framesDir === undefined ? '' : ` FRAMES_DIR=${framesDir}`}`,
      );
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** `backup <folder>`: the SQLite store the settings name, copied consistently into a new folder. */
export async function backup(
  folder: string | undefined,
  settings: ServerSettings,
  out: Out,
): Promise<void> {
  if (folder === undefined || folder.startsWith('-')) {
    throw new AdminError('backup <folder>   (a new or empty folder)', 2);
  }
  sqliteFile(
    settings,
    'backup',
    'back up PostgreSQL with pg_dump (and FRAMES_DIR with a copy of that folder)',
  );
  const started = Date.now();
  out(`backing up ${settings.dataDir} into ${folder}`);
  const source = await openDatabase({ engine: 'sqlite', dataDir: settings.dataDir });
  try {
    const summary = await backupSqliteStore(source, folder, out);
    out(
      `backed up ${count(summary.runs)} runs in ${secondsSince(started)} s` +
        (summary.framesLeftOut > 0
          ? `; ${count(summary.framesLeftOut)} image frames that aged out of retention during the backup were left out`
          : ''),
    );
    out(`start a server on it with DATA_DIR=${folder}`);
  } finally {
    await source.close();
  }
}

/** `vacuum`: the deleted runs' space of the store the settings name, given back. */
export async function vacuum(settings: ServerSettings, out: Out): Promise<void> {
  if (settings.storeEngine === 'memory') {
    throw new AdminError('STORE_ENGINE=memory keeps nothing to vacuum', 2);
  }
  let serverRuns = false;
  if (settings.storeEngine === 'sqlite') {
    sqliteFile(settings, 'vacuum', '');
    serverRuns = serverRunsOn(settings.dataDir);
    if (serverRuns) {
      out(
        `a server is running on ${settings.dataDir}: its commits, and its trainers' acks, wait while VACUUM rewrites the file`,
      );
    }
  }
  const started = Date.now();
  const database = await openStoreDatabase({ ...settings, framesDir: '', storeWriteThread: false });
  if (database === null) return;
  try {
    const { before, after, onDiskUntilCheckpoint } = await vacuumStore(database).catch(
      (error: unknown) => {
        if (settings.storeEngine !== 'sqlite' || fullDisk(error) === undefined) throw error;
        const file = database.sqlite?.name ?? settings.dataDir;
        throw new AdminError(
          `the disk holding DATA_DIR (${resolve(settings.dataDir)}) is full (${messageOf(error)}): ` +
            `VACUUM writes the compacted database (up to ${megabytes(statSync(file).size)}) before it gives anything back; ` +
            'make that much room there (deleting runs frees their image frames at once) and run it again',
        );
      },
    );
    out(
      `vacuumed the ${settings.storeEngine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} store: ${megabytes(before)} before, ${megabytes(after)} after, in ${secondsSince(started)} s`,
    );
    if (onDiskUntilCheckpoint !== undefined) {
      const reader = serverRuns ? 'the server running on DATA_DIR' : 'another connection';
      const checkpoint = serverRuns
        ? "that server's next checkpoint"
        : 'the next checkpoint (a server started on it, or vacuum run again)';
      out(
        `the WAL could not be truncated: ${reader} was reading from it. The store takes ${megabytes(onDiskUntilCheckpoint)} ` +
          `on disk (file and WAL) until ${checkpoint} copies the WAL back; the file then shrinks to ${megabytes(after)}`,
      );
    }
  } finally {
    await database.close();
  }
}

/** An error's own words (duck-typed: a driver's error class may come from another realm). */
function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
