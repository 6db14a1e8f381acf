import { constants as fsConstants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Pool, types as pgTypes } from 'pg';
import type { StoreEngine } from './migrations/column-types';
import { migrationProvider, storeMigrations } from './migrations';
import { FRAME_WRITERS_SEQUENCE } from './migrations/0115-image-frame-writers';
import type { Database } from './schema';
import { usableDataDir } from './data-dir-lock';
import { FrameFiles } from './frame-files';
import { PostgresFrameWriter } from './postgres-frame-writer';
import { keepTextStorable } from './postgres-text';
import { fullDisk, isStoreUnavailable } from './store-errors';
import { SqliteWriteThread } from './sqlite-write-thread';
import { refuseUnfinishedBackup } from './unfinished-backup';
import { WalCheckpointer } from './wal-checkpointer';

/** File name of the SQLite database inside DATA_DIR. */
export const SQLITE_FILE = 'trainwatch.sqlite';
/** Folder of the image frames' segment files, beside SQLITE_FILE (frame-files.ts). */
export const FRAMES_FOLDER = 'frames';
/**
 * PostgreSQL with a shared frames folder: a file no stored frame names is
 * swept only once this old. Another replica writes a commit's files just
 * before its transaction commits; ten minutes leaves room for a commit held
 * up by a slow or restarting PostgreSQL.
 */
export const SHARED_FRAMES_SWEEP_GRACE_MS = 10 * 60 * 1000;

/** SQLite page size: set before the first table, big enough that a batch's images fit few pages. */
const SQLITE_PAGE_SIZE = 8192;
/** How long a SQLite statement waits for a lock another connection holds (backups, the CLI). */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** Connections the PostgreSQL pool opens: the writer, its frame writer, and readers. */
export const POSTGRES_POOL_SIZE = 8;
/**
 * Idle pool connections are never closed (0; node-postgres closes them after
 * 10 s by default). A new PostgreSQL backend reads slowly until it has
 * touched the pages a query needs: QuerySeries over a 1,000,000-point
 * series after an 11 s pause took 80-118 ms on new connections against
 * 21-68 ms on kept ones. The pool holds at most POSTGRES_POOL_SIZE.
 */
const POSTGRES_IDLE_TIMEOUT_MS = 0;
/** Bound on a PostgreSQL connection attempt, so a stopped server fails a flush instead of hanging it. */
const POSTGRES_CONNECT_TIMEOUT_MS = 5000;
/**
 * Session settings of every store connection. jit=off: the store's queries
 * are short (the QuerySeries block grouping scans ~16,000 rows), but once
 * the tables are analyzed its correlated last-value lookups put the
 * planner's estimate past jit_above_cost, and compiling took 10-13 ms of a
 * ~27 ms query (EXPLAIN ANALYZE on a 1,000,000-point series; 14 ms without).
 */
const POSTGRES_SESSION_OPTIONS = '-c jit=off';
/** int8 and numeric OIDs, parsed as JS numbers (times, steps and sequences stay below 2^53). */
const PG_INT8_OID = 20;

/** Where the store lives. */
export type StoreLocation =
  | {
      engine: 'sqlite';
      dataDir: string;
      /** Run the store writer's commits on a thread of their own (sqlite-write-thread.ts). */
      writeThread?: boolean;
    }
  | {
      engine: 'postgres';
      url: string;
      /** Where the url came from, as errors name it (default DATABASE_URL; copy-store's --to). */
      setting?: string;
      schema?: string;
      /** Image frames in segment files under this folder instead of in rows (shared by every replica). */
      framesDir?: string;
    };

/** An open database with the migrations applied. */
export interface OpenDatabase {
  engine: StoreEngine;
  db: Kysely<Database>;
  /** The SQLite connection (undefined for PostgreSQL), for pragmas and statements Kysely cannot prepare. */
  sqlite: BetterSqlite3.Database | undefined;
  /** SQLite only, when asked for: the thread the store writer's commits run on. */
  writeThread?: SqliteWriteThread;
  /** PostgreSQL only: image frames committed on a connection of their own, beside the main transaction. */
  postgresFrameWriter?: PostgresFrameWriter;
  /**
   * The segment files holding image frames: SQLite's (written by the write
   * thread's commits), or PostgreSQL's with a frames folder (FRAMES_DIR).
   */
  frameFiles?: FrameFiles;
  close(): Promise<void>;
  /**
   * The server's SQLite store: throws unless this process still holds
   * DATA_DIR (data-dir-lock.ts), checked before each commit. Absent for the
   * admin commands and PostgreSQL.
   */
  checkLock?(): void;
}

/** Opens the store and applies every pending migration (start-up fails if one does). */
export async function openDatabase(location: StoreLocation): Promise<OpenDatabase> {
  const sqlite = location.engine === 'sqlite' ? openSqlite(location) : undefined;
  const postgres = location.engine === 'postgres' ? openPostgres(location) : undefined;
  const opened = sqlite?.open ?? postgres?.open;
  if (opened === undefined)
    throw new Error(`unknown store engine: ${String((location as { engine: unknown }).engine)}`);
  let open = opened;
  try {
    await migrate(open);
  } catch (error) {
    await open.close();
    // A migration that met a full disk (its error wraps the engine's).
    if (fullDisk((error as { cause?: unknown }).cause ?? error) !== undefined) {
      throw new Error(
        location.engine === 'postgres'
          ? `PostgreSQL at ${postgresAddress(location.url)} has no disk space left (${(error as Error).message}): free space on its disk and try again`
          : fullDataDir(location.dataDir, (error as Error).message),
        { cause: error },
      );
    }
    if (location.engine === 'postgres' && isStoreUnavailable(error)) {
      throw new Error(
        `cannot reach PostgreSQL at ${postgresAddress(location.url)} (${location.setting ?? 'DATABASE_URL'}): ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
  if (postgres !== undefined) {
    const opening = openConnections(postgres.pool, POSTGRES_POOL_SIZE);
    const closePool = open.close;
    open = {
      ...open,
      close: async () => {
        await opening;
        await closePool();
      },
    };
  }
  if (location.engine === 'postgres' && location.framesDir !== undefined) {
    try {
      return { ...open, frameFiles: await sharedFrameFiles(open.db, location.framesDir) };
    } catch (error) {
      await open.close();
      throw error;
    }
  }
  if (location.engine === 'sqlite' && location.writeThread === true && sqlite !== undefined) {
    // After the migrations: the thread's statements need the tables.
    const writeThread = new SqliteWriteThread(join(location.dataDir, SQLITE_FILE));
    // The thread's connection is the one that commits: it takes over checkpoints when the checkpoint thread falls behind.
    sqlite.checkpointer.onAutoCheckpoint = (pages) => writeThread.setAutoCheckpoint(pages);
    return {
      ...open,
      writeThread,
      close: async () => {
        await writeThread.close();
        await open.close();
      },
    };
  }
  return open;
}

function openSqlite(location: Extract<StoreLocation, { engine: 'sqlite' }>): {
  open: OpenDatabase;
  checkpointer: WalCheckpointer;
} {
  usableDataDir(location.dataDir);
  refuseUnfinishedBackup(location.dataDir);
  const file = join(location.dataDir, SQLITE_FILE);
  const sqlite = openSqliteFile(file);
  const logger = new Logger('Store');
  let lastProblem: string | undefined;
  const checkpointer = new WalCheckpointer(sqlite, file, (problem) => {
    if (problem !== undefined && problem !== lastProblem) logger.warn(problem);
    lastProblem = problem;
  });
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    checkpointer,
    open: {
      engine: 'sqlite',
      db,
      sqlite,
      frameFiles: new FrameFiles(join(location.dataDir, FRAMES_FOLDER)),
      close: async () => {
        await checkpointer.close();
        await db.destroy();
      },
    },
  };
}

/** A SQLite store that cannot start because its disk is full: which folder, and what to do. */
function fullDataDir(dataDir: string, detail: string): string {
  return `the disk holding DATA_DIR (${resolve(dataDir)}) is full (${detail}): free space there and try again`;
}

/** The store's SQLite file with its settings; a file that is not a usable database is named in the error. */
function openSqliteFile(file: string): BetterSqlite3.Database {
  let sqlite: BetterSqlite3.Database | undefined;
  try {
    sqlite = new BetterSqlite3(file);
    // page_size only takes effect on a database with no tables yet, and before WAL is on.
    sqlite.pragma(`page_size = ${SQLITE_PAGE_SIZE}`);
    sqlite.pragma('journal_mode = WAL');
    // NORMAL under WAL: a commit is durable against a process crash (kill -9); an OS crash may lose the last ones.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    return sqlite;
  } catch (error) {
    sqlite?.close();
    const code = (error as { code?: string }).code;
    const reason = error instanceof Error ? error.message : String(error);
    if (fullDisk(error) !== undefined) {
      throw new Error(fullDataDir(dirname(file), `could not open the store ${file}: ${reason}`), {
        cause: error,
      });
    }
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new Error(
        `${file} is not a usable SQLite database (${reason}): restore it from a backup ` +
          '(npm run admin -- backup), move it away to start an empty store, or point DATA_DIR elsewhere',
        { cause: error },
      );
    }
    throw new Error(`could not open the store ${file}: ${reason}`, { cause: error });
  }
}

/**
 * Opens `count` connections of the pool now, in the background, and
 * leaves them idle (POSTGRES_IDLE_TIMEOUT_MS keeps them): a read that
 * finds no idle connection waits for a new backend, ~25 ms of a
 * QuerySeries call here in the first calls after a start. Resolves once
 * every attempt has ended; a failed one is left to the next query.
 */
async function openConnections(pool: Pool, count: number): Promise<void> {
  await Promise.allSettled(
    Array.from({ length: count }, () => pool.connect().then((client) => client.release())),
  );
}

function openPostgres(location: Extract<StoreLocation, { engine: 'postgres' }>): {
  open: OpenDatabase;
  pool: Pool;
} {
  const schema = location.schema;
  const pool = new Pool({
    connectionString: location.url,
    max: POSTGRES_POOL_SIZE,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: POSTGRES_IDLE_TIMEOUT_MS,
    // A test (or a shared server) may keep each store in its own schema.
    options:
      schema === undefined
        ? POSTGRES_SESSION_OPTIONS
        : `${POSTGRES_SESSION_OPTIONS} -c search_path=${schema}`,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8_OID
          ? (value: string) => Number(value)
          : pgTypes.getTypeParser(oid, format)) as typeof pgTypes.getTypeParser,
    },
  });
  // An idle client whose server went away emits 'error' on the pool; the next query reports it.
  pool.on('error', () => undefined);
  // A client checked out of the pool (a commit's transaction, the frame writer's) has no listener
  // of the pool's: when PostgreSQL stops or drops it, pg emits 'error' on the client itself, and
  // with nobody listening that ended the process. The holder learns it anyway (its query rejects,
  // or the next one: "not queryable"), and the pool drops such a client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  // Before the client serves its first query: U+0000 in a text value would fail the whole statement.
  pool.on('connect', keepTextStorable);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    open: {
      engine: 'postgres',
      db,
      sqlite: undefined,
      postgresFrameWriter: new PostgresFrameWriter(pool),
      close: () => db.destroy(),
    },
    pool,
  };
}

/**
 * The frames folder every replica shares, with a writer number of this
 * process's own (frame-files.ts). Checked writable now, so a wrong path or
 * owner fails start-up with its reason instead of holding every ack.
 */
async function sharedFrameFiles(db: Kysely<Database>, framesDir: string): Promise<FrameFiles> {
  try {
    await mkdir(framesDir, { recursive: true });
    await access(framesDir, fsConstants.W_OK);
  } catch (error) {
    throw new Error(`FRAMES_DIR ${framesDir} cannot be written: ${String(error)}`, {
      cause: error,
    });
  }
  const { rows } = await sql<{
    writer: number;
  }>`select nextval(${FRAME_WRITERS_SEQUENCE}) as writer`.execute(db);
  return new FrameFiles(framesDir, {
    writer: Number(rows[0]?.writer),
    sweepGraceMs: SHARED_FRAMES_SWEEP_GRACE_MS,
  });
}

async function migrate(open: OpenDatabase): Promise<void> {
  await refuseNewerStore(open);
  const migrator = new Migrator({ db: open.db, provider: migrationProvider(open.engine) });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error');
    const name = failed === undefined ? '' : ` (migration ${failed.migrationName})`;
    throw new Error(`store migration failed${name}: ${String(error)}`, { cause: error });
  }
}

/**
 * A store that has migrations this server does not know was written by a
 * newer trainwatch (an upgrade rolled back): say that, rather than Kysely's
 * "corrupted migrations", and start nothing on it.
 */
async function refuseNewerStore(open: OpenDatabase): Promise<void> {
  let executed: string[];
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(
      open.db,
    );
    executed = rows.map((row) => row.name);
  } catch (error) {
    // An unreachable store is reported as such; any other failure here is a new store (no table yet).
    if (isStoreUnavailable(error)) throw error;
    return;
  }
  const known = Object.keys(storeMigrations(open.engine));
  const unknown = executed.filter((name) => !known.includes(name)).sort();
  if (unknown.length === 0) return;
  throw new Error(
    `the store was written by a newer trainwatch: it has migration ${unknown.join(', ')}, ` +
      `this server knows those up to ${known[known.length - 1] ?? '(none)'}; ` +
      'run that newer version on it, or restore a backup taken before the upgrade',
  );
}

/** host:port/database of a postgres:// URL, for messages (never its user or password). */
export function postgresAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port === '' ? '5432' : parsed.port}${parsed.pathname}`;
  } catch {
    return '(the URL DATABASE_URL names)';
  }
}
