import Database from 'better-sqlite3';
import { DatabaseError } from 'pg';
import { fullDisk, isStoreUnavailable } from './store-errors';

function sqliteError(code: string): Error {
  const error = new Error('database or disk is full');
  error.name = 'SqliteError';
  Object.assign(error, { code });
  return error;
}

function pgError(code: string): DatabaseError {
  const error = new DatabaseError(
    'terminating connection due to administrator command',
    0,
    'error',
  );
  error.code = code;
  return error;
}

describe('isStoreUnavailable', () => {
  it('a full or busy SQLite database, a PostgreSQL shutting down, a refused connection: unavailable', () => {
    expect(isStoreUnavailable(sqliteError('SQLITE_FULL'))).toBe(true);
    expect(isStoreUnavailable(sqliteError('SQLITE_IOERR_WRITE'))).toBe(true);
    expect(isStoreUnavailable(pgError('57P01'))).toBe(true);
    expect(isStoreUnavailable(pgError('08006'))).toBe(true);
    expect(
      isStoreUnavailable(
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      ),
    ).toBe(true);
    expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('a wrong query or a bug stays a bug', () => {
    expect(isStoreUnavailable(pgError('42P01'))).toBe(false);
    expect(isStoreUnavailable(sqliteError('SQLITE_ERROR'))).toBe(false);
    expect(isStoreUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isStoreUnavailable('a string')).toBe(false);
  });

  it('recognises the error a real SQLite database raises when it is full', () => {
    const db = new Database(':memory:');
    db.pragma('max_page_count = 2');
    let raised: unknown;
    try {
      db.exec('create table t (x blob)');
      for (let i = 0; i < 100; i++) db.prepare('insert into t values (?)').run(Buffer.alloc(4096));
    } catch (error) {
      raised = error;
    } finally {
      db.close();
    }
    expect(isStoreUnavailable(raised)).toBe(true);
  });
});

describe('fullDisk', () => {
  const errno = (code: string) =>
    Object.assign(new Error(`${code}: no space left on device, write`), { code });

  it('says where a full disk was met: the SQLite database, a frame file, PostgreSQL', () => {
    expect(fullDisk(sqliteError('SQLITE_FULL'))).toBe('database');
    // From the write thread: the code survives, the class does not.
    expect(
      fullDisk(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })),
    ).toBe('database');
    expect(fullDisk(sqliteError('SQLITE_IOERR_SHMSIZE'))).toBe('database');
    expect(fullDisk(errno('ENOSPC'))).toBe('files');
    expect(fullDisk(errno('EDQUOT'))).toBe('files');
    expect(fullDisk(pgError('53100'))).toBe('postgres');
  });

  it('anything else is not a full disk', () => {
    expect(fullDisk(sqliteError('SQLITE_IOERR_WRITE'))).toBeUndefined();
    expect(fullDisk(pgError('57P01'))).toBeUndefined();
    // Out of memory on PostgreSQL is class 53 too, but not the disk.
    expect(fullDisk(pgError('53200'))).toBeUndefined();
    expect(fullDisk(errno('EACCES'))).toBeUndefined();
    expect(fullDisk(new Error('no code'))).toBeUndefined();
    expect(fullDisk(undefined)).toBeUndefined();
  });
});
