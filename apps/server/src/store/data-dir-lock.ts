import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

/** File in DATA_DIR whose lock the server holding that folder keeps while it runs. */
export const DATA_DIR_LOCK_FILE = 'server.lock';
/**
 * How long a starting server waits for the lock: long enough that an admin
 * command looking whether a server runs (serverRunsOn, a moment) never
 * makes a start fail, short enough to say at once that another server has it.
 */
const LOCK_WAIT_MS = 1000;

/** The lock a server holds on its DATA_DIR; `release` gives it up (idempotent). */
export interface DataDirLock {
  readonly file: string;
  /**
   * Throws unless this process still holds the folder. The lock is on the
   * file's inode: a `server.lock` removed while the server runs (a cleanup
   * of "stale" lock files) would let a second server in. So before each
   * commit the path is looked at again; a file removed or replaced is
   * taken again (said in the log), and when another server has taken it
   * meanwhile this throws, naming the folder: that commit fails, acks wait
   * and health says why, until the other server stops.
   */
  check(): void;
  release(): void;
}

/**
 * Takes the lock that makes a server the only one writing a SQLite
 * DATA_DIR. Two servers on one folder would both append to the same
 * segment files from their own idea of where each ends, sweep each other's
 * new files as orphans and keep stale copies of every run, so the second
 * one refuses to start, naming the folder, and the first carries on.
 *
 * The lock is SQLite's own exclusive lock on a small database file of its
 * own (an fcntl lock): the kernel drops it when the process ends, kill -9
 * included, so a restart never finds a stale lock, and SQLite keeps it
 * exclusive between connections of one process too. The admin commands
 * (backup, vacuum, copy-store, users and keys) do not take it: they are
 * meant to run beside the server.
 */
export function lockDataDir(
  dataDir: string,
  warn: (message: string) => void = () => undefined,
): DataDirLock {
  usableDataDir(dataDir);
  const file = join(dataDir, DATA_DIR_LOCK_FILE);
  let lock = takeLock(dataDir, file, LOCK_WAIT_MS);
  let inode = inodeOf(file);
  let held = true;
  return {
    file,
    check: () => {
      if (!held) throw new Error(`the lock on DATA_DIR ${dataDir} was released`);
      const now = inodeOf(file);
      if (now !== undefined && now === inode) return;
      // Removed or replaced while this server ran: take the new file, unless another server has.
      const again = takeLock(dataDir, file, 0, 'too');
      lock.close();
      lock = again;
      inode = inodeOf(file);
      warn(`${file} was removed while this server ran: it holds the folder again`);
    },
    release: () => {
      if (!held) return;
      held = false;
      // Closing with the transaction open rolls it back and drops the lock.
      lock.close();
    },
  };
}

/** `dev:ino` of the file at `file` now; undefined when there is none. */
function inodeOf(file: string): string | undefined {
  const stat = statSync(file, { throwIfNoEntry: false });
  return stat === undefined ? undefined : `${stat.dev}:${stat.ino}`;
}

/** SQLite's exclusive lock on `file`, waiting up to `waitMs` for another holder. */
function takeLock(
  dataDir: string,
  file: string,
  waitMs: number,
  also: '' | 'too' = '',
): BetterSqlite3.Database {
  let lock: BetterSqlite3.Database;
  try {
    lock = new BetterSqlite3(file, { timeout: waitMs });
  } catch (error) {
    throw new Error(`could not open ${file} in DATA_DIR: ${String(error)}`);
  }
  try {
    // A rollback journal (not WAL: its shared memory would let another connection in), kept in
    // memory (no journal file left beside it), and an exclusive transaction kept open until
    // release: nobody else may read or write the file.
    lock.pragma('journal_mode = MEMORY');
    lock.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(
        also === 'too'
          ? `DATA_DIR ${dataDir} is in use by another trainwatch server too: ${file} was removed while this server ran and the other one took it; stop one of them (this one holds its acks until it has the folder again)`
          : `DATA_DIR ${dataDir} is in use by another trainwatch server (it holds ${file}): ` +
              'stop that server first, or give this one a DATA_DIR of its own',
      );
    }
    throw new Error(`could not lock DATA_DIR ${dataDir} (${file}): ${String(error)}`);
  }
  return lock;
}

/**
 * Whether a server holds `dataDir` now (for the admin commands, which do
 * not take the lock): looks by taking the lock for a moment, and creates
 * nothing when there is no lock file (no server ever ran there).
 */
export function serverRunsOn(dataDir: string): boolean {
  const file = join(dataDir, DATA_DIR_LOCK_FILE);
  if (!existsSync(file)) return false;
  const probe = new BetterSqlite3(file, { timeout: 0, fileMustExist: true });
  try {
    probe.pragma('journal_mode = MEMORY');
    probe.exec('BEGIN EXCLUSIVE');
    probe.exec('ROLLBACK');
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return true;
    throw error;
  } finally {
    probe.close();
  }
}

/**
 * Creates DATA_DIR if it is missing, or says in one line why it cannot
 * hold the store: a file in its place, or a folder this process may not
 * write to (SQLite's own error would be "unable to open database file").
 */
export function usableDataDir(dataDir: string): void {
  try {
    const existing = statSync(dataDir, { throwIfNoEntry: false });
    if (existing !== undefined && !existing.isDirectory()) {
      throw new Error(`DATA_DIR ${dataDir} is not a folder: point DATA_DIR at a folder`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === undefined) throw error;
    // Not reachable (ENOTDIR, EACCES on a parent): said below, where creating it fails the same way.
  }
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new Error(
        `DATA_DIR ${dataDir} cannot be created: its disk is full (${String(error)}); free space there and try again`,
      );
    }
    const user = process.getuid === undefined ? 'this process' : `user id ${process.getuid()}`;
    throw new Error(
      `DATA_DIR ${dataDir} cannot be created or written by ${user} (${String(error)}): ` +
        'give that user the folder, or point DATA_DIR at one it may write',
    );
  }
}
