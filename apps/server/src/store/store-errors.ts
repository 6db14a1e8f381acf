import { DatabaseError } from 'pg';

/** PostgreSQL SQLSTATE classes that mean the server cannot serve now, not that the query is wrong. */
const UNAVAILABLE_SQLSTATE_CLASSES = ['08', '53', '57', '58'];
/** Node socket errors of a database connection that went away. */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
]);
/** SQLite result codes of a database that cannot be written or read now (full disk, locked, I/O). */
const UNAVAILABLE_SQLITE_CODES = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|NOMEM)/;

/**
 * True when `error` says the store is unavailable (stopped PostgreSQL, full
 * disk, broken connection) rather than that the code is wrong: clients are
 * told UNAVAILABLE with the reason and may retry, and it is not logged as a
 * bug. Everything else stays a bug (INTERNAL, logged with its stack).
 */
export function isStoreUnavailable(error: unknown): error is Error {
  // Duck-typed: errors from Node's own sockets may come from another realm (test sandboxes).
  if (typeof error !== 'object' || error === null) return false;
  if (typeof (error as { message?: unknown }).message !== 'string') return false;
  const code = (error as { code?: unknown }).code;
  if (error instanceof DatabaseError) {
    return typeof code === 'string' && UNAVAILABLE_SQLSTATE_CLASSES.includes(code.slice(0, 2));
  }
  if ((error as Error).name === 'SqliteError') {
    return typeof code === 'string' && UNAVAILABLE_SQLITE_CODES.test(code);
  }
  if (typeof code === 'string' && CONNECTION_ERRNOS.has(code)) return true;
  // pg's client and pool errors carry no code.
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(
    (error as Error).message,
  );
}

/** Node's errno codes of a write that found no room: the file system, or the user's quota. */
const NO_SPACE_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);
/** PostgreSQL's SQLSTATE disk_full. */
const POSTGRES_DISK_FULL = '53100';

/**
 * Where a full disk was met, when `error` says one was: SQLite's database
 * (SQLITE_FULL, or SQLITE_IOERR_SHMSIZE for its WAL index), a segment file
 * of image frames (ENOSPC or EDQUOT from the file system), or PostgreSQL's
 * own disk (SQLSTATE 53100). Undefined for any other error.
 */
export function fullDisk(error: unknown): 'database' | 'files' | 'postgres' | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (error instanceof DatabaseError) return code === POSTGRES_DISK_FULL ? 'postgres' : undefined;
  // SHMSIZE: SQLite could not grow its WAL index file (the -shm beside the database), i.e. no room.
  if (code.startsWith('SQLITE_FULL') || code === 'SQLITE_IOERR_SHMSIZE') return 'database';
  return NO_SPACE_ERRNOS.has(code) ? 'files' : undefined;
}
