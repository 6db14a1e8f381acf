import { closeSync, copyFileSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { sql, type Kysely, type Transaction } from 'kysely';
import { AdminError } from './admin-error';
import { FrameFiles, segmentKey } from '../store/frame-files';
import type { OpenDatabase } from '../store/open-database';
import type { Database } from '../store/schema';

/**
 * Every table of the store, in the order they are copied (there are no
 * foreign keys; series before points only reads well). The Record below
 * makes a table added to the schema a compile error here until it is listed.
 */
const TABLES_TO_COPY = {
  sessions: true,
  session_tags: true,
  status_events: true,
  series: true,
  points: true,
  series_blocks: true,
  epochs: true,
  performance: true,
  commands: true,
  image_frames: true,
  confusion_matrices: true,
  users: true,
  api_keys: true,
  auth_sessions: true,
  setup_tokens: true,
  alerts: true,
  alert_settings: true,
} satisfies Record<keyof Database, true>;
type TableName = keyof typeof TABLES_TO_COPY;
const TABLE_NAMES = Object.keys(TABLES_TO_COPY) as TableName[];

/** Tables whose `id` is an identity column on PostgreSQL: its sequence is moved past the copied ids. */
const IDENTITY_TABLES: readonly TableName[] = ['status_events', 'series', 'epochs', 'performance'];

/** Parameters per INSERT (PostgreSQL takes at most 65,535). */
const PARAMETERS_PER_INSERT = 30_000;
/** Segment files held open while their frames are read (all closed past it). */
const MAX_OPEN_SEGMENTS = 64;
/** How often a long table reports how far it got. */
const PROGRESS_INTERVAL_MS = 2000;

export interface CopyOptions {
  /**
   * The FRAMES_DIR the PostgreSQL servers will use: image frames in segment
   * files are copied there as files. Without it their bytes go into the rows.
   */
  framesDir?: string;
  /** Progress and the summary, a line at a time. */
  out(line: string): void;
}

export interface CopySummary {
  rows: Record<TableName, number>;
  /** Image frames whose bytes were read from segment files (into rows, or copied as files). */
  framesFromFiles: number;
  /** Segment files copied into `framesDir`. */
  segmentFiles: number;
}

type Row = Record<string, unknown>;

/**
 * Copies every row of a SQLite store into an empty PostgreSQL database
 * (migrated to the same version): one read transaction on SQLite, so the
 * copy is one consistent moment of it, and one transaction on PostgreSQL,
 * so a failed copy leaves the target as empty as it was. Ids are kept;
 * PostgreSQL's identity sequences are moved past them. Image frames in
 * SQLite's segment files go into rows, or with `framesDir` are copied as
 * files (the rows keep naming them).
 */
export async function copySqliteToPostgres(
  source: OpenDatabase,
  target: OpenDatabase,
  options: CopyOptions,
): Promise<CopySummary> {
  const sqlite = source.sqlite;
  const sourceFrames = source.frameFiles;
  if (sqlite === undefined || sourceFrames === undefined || target.engine !== 'postgres') {
    throw new Error('copy-store copies a SQLite store into PostgreSQL');
  }
  const unknown = (
    sqlite
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%'",
      )
      .all() as { name: string }[]
  )
    .map((row) => row.name)
    .filter((name) => !(name in TABLES_TO_COPY));
  if (unknown.length > 0) {
    throw new AdminError(
      `the SQLite store has tables this copier does not know (${unknown.join(', ')}): copy with the server version that wrote them`,
    );
  }
  await requireEmpty(target.db);

  const targetFrames =
    options.framesDir === undefined ? undefined : new FrameFiles(options.framesDir);
  const frames = new FrameSource(sourceFrames, targetFrames);
  const rows = Object.fromEntries(TABLE_NAMES.map((name) => [name, 0])) as Record<
    TableName,
    number
  >;
  sqlite.exec('begin');
  try {
    await target.db.transaction().execute(async (trx) => {
      for (const table of TABLE_NAMES) {
        rows[table] = await copyTable(sqlite, trx, table, frames, options.out);
      }
      for (const table of IDENTITY_TABLES) {
        await sql`select setval(pg_get_serial_sequence(${table}, 'id'), max(id)) from ${sql.table(table)} having max(id) is not null`.execute(
          trx,
        );
      }
    });
  } finally {
    frames.close();
    sqlite.exec('rollback');
  }
  return { rows, framesFromFiles: frames.read, segmentFiles: frames.copiedFiles };
}

async function requireEmpty(db: Kysely<Database>): Promise<void> {
  const count = async (table: 'sessions' | 'users') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('count'))
          .executeTakeFirst()
      )?.count ?? 0,
    );
  const [runs, users] = [await count('sessions'), await count('users')];
  if (runs > 0 || users > 0) {
    throw new AdminError(
      `the target database already holds ${runs} runs and ${users} users; copy-store fills an empty database only`,
    );
  }
}

async function copyTable(
  sqlite: NonNullable<OpenDatabase['sqlite']>,
  trx: Transaction<Database>,
  table: TableName,
  frames: FrameSource,
  out: (line: string) => void,
): Promise<number> {
  const statement = sqlite.prepare(`select * from "${table}"`);
  const perInsert = Math.max(1, Math.floor(PARAMETERS_PER_INSERT / statement.columns().length));
  let chunk: Row[] = [];
  let copied = 0;
  let reportAt = Date.now() + PROGRESS_INTERVAL_MS;
  const flush = async () => {
    if (chunk.length === 0) return;
    await trx
      .insertInto(table)
      .values(chunk as never)
      .execute();
    copied += chunk.length;
    chunk = [];
    if (Date.now() >= reportAt) {
      out(`  ${table}: ${copied.toLocaleString('en-US')} rows so far`);
      reportAt = Date.now() + PROGRESS_INTERVAL_MS;
    }
  };
  for (const row of statement.iterate() as Iterable<Row>) {
    chunk.push(table === 'image_frames' ? frames.row(row) : row);
    if (chunk.length >= perInsert) await flush();
  }
  await flush();
  out(`  ${table}: ${copied.toLocaleString('en-US')} rows`);
  return copied;
}

/** Image frames kept in SQLite's segment files, read into rows or copied as files. */
class FrameSource {
  read = 0;
  copiedFiles = 0;
  private readonly copied = new Set<string>();
  private readonly open = new Map<string, number>();

  constructor(
    private readonly from: FrameFiles,
    private readonly to: FrameFiles | undefined,
  ) {}

  /** The row as PostgreSQL keeps it: naming a copied file, or holding the frame's bytes. */
  row(row: Row): Row {
    if (row['file_segment'] === null || row['file_segment'] === undefined) return row;
    const sessionId = String(row['session_id']);
    const key = segmentKey(row['file_writer'] as number | null, Number(row['file_segment']));
    const path = this.from.segmentPath(sessionId, key);
    this.read += 1;
    if (this.to !== undefined) {
      if (!this.copied.has(path)) {
        const copy = this.to.segmentPath(sessionId, key);
        mkdirSync(dirname(copy), { recursive: true });
        this.failing(row, path, () => copyFileSync(path, copy));
        this.copied.add(path);
        this.copiedFiles += 1;
      }
      return row;
    }
    const length = Number(row['bytes']);
    const bytes = Buffer.alloc(length);
    this.failing(row, path, () => {
      let fd = this.open.get(path);
      if (fd === undefined) {
        if (this.open.size >= MAX_OPEN_SEGMENTS) this.close();
        fd = openSync(path, 'r');
        this.open.set(path, fd);
      }
      const got = readSync(fd, bytes, 0, length, Number(row['file_offset']));
      if (got !== length) throw new Error(`the file ends after ${got} of ${length} bytes`);
    });
    return { ...row, frame: bytes, file_segment: null, file_offset: null, file_writer: null };
  }

  close(): void {
    for (const fd of this.open.values()) closeSync(fd);
    this.open.clear();
  }

  private failing(row: Row, path: string, read: () => void): void {
    try {
      read();
    } catch (error) {
      throw new AdminError(
        `image frame of run ${String(row['session_id'])} at step ${String(row['step'])}: ${path}: ${error instanceof Error ? error.message : String(error)} (stop the server before copying its store)`,
      );
    }
  }
}

/** The URL without its password, for output. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a URL that does not parse)';
  }
}
