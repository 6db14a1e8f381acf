import { Worker } from 'node:worker_threads';
import type { SegmentWrite } from './frame-files';

/** How long the thread waits for the write lock another connection holds (edits and deletes on the main one). */
const WRITE_THREAD_BUSY_TIMEOUT_MS = 5000;
/** Distinct statement texts the thread keeps prepared (row counts vary per commit; the common ones stay). */
const MAX_PREPARED_STATEMENTS = 512;

/**
 * One statement of a commit: SQL text with `?` placeholders, and its
 * parameters. A Float64Array as the only parameter holds all of them (rows
 * of numbers, NaN binding as NULL; RawInsert.runNumbers): it crosses to the
 * thread as one copy instead of a value each. No statement binds a
 * Float64Array otherwise.
 */
export type RecordedStatement = readonly [sql: string, parameters: readonly unknown[]];

interface JobReply {
  id: number;
  error?: string;
  code?: string;
}

// Plain JavaScript run in its own thread (eval: the server runs from compiled files and, in tests, from
// TypeScript, so there is no worker file both can name).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
db.pragma('wal_autocheckpoint = 0');
const prepared = new Map();
const statement = (sql) => {
  let found = prepared.get(sql);
  if (found === undefined) {
    if (prepared.size >= workerData.maxPrepared) prepared.clear();
    found = db.prepare(sql);
    prepared.set(sql, found);
  }
  return found;
};
const write = db.transaction((statements) => {
  for (const [sql, parameters] of statements) {
    const packed = parameters.length === 1 && parameters[0] instanceof Float64Array;
    statement(sql).run(packed ? Array.from(parameters[0]) : parameters);
  }
});
// Image frames appended to segment files (frame-files.ts) before the transaction that names them.
const writeFiles = (files) => {
  for (const [file, position, buffers] of files) {
    let fd;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
    } catch (error) {
      // The run's first segment: its folder comes first.
      if (error.code !== 'ENOENT') throw error;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
    }
    try {
      let at = position;
      let rest = buffers;
      while (rest.length > 0) {
        let written = fs.writevSync(fd, rest, at);
        at += written;
        // A short write: skip what went out and go on with the rest.
        while (rest.length > 0 && written >= rest[0].byteLength) { written -= rest[0].byteLength; rest = rest.slice(1); }
        if (written > 0) rest = [rest[0].subarray(written), ...rest.slice(1)];
      }
    } finally {
      fs.closeSync(fd);
    }
  }
};
parentPort.on('message', (message) => {
  if (message.close) { db.close(); parentPort.close(); return; }
  if (message.autoCheckpoint !== undefined) {
    db.pragma('wal_autocheckpoint = ' + message.autoCheckpoint);
    return;
  }
  if (message.maxPageCount !== undefined) {
    db.pragma('max_page_count = ' + message.maxPageCount);
    return;
  }
  try {
    // IMMEDIATE: the write lock is taken (or waited for) at BEGIN, never upgraded half-way.
    if (message.files !== undefined) writeFiles(message.files);
    write.immediate(message.statements);
    parentPort.postMessage({ id: message.id });
  } catch (error) {
    if (db.inTransaction) { try { db.exec('ROLLBACK'); } catch {} }
    parentPort.postMessage({ id: message.id, error: String((error && error.message) || error), code: error && error.code });
  }
});
`;

/**
 * Runs every SQLite commit of the store writer on a thread of its own, with
 * its own connection. The event loop builds a commit's statements (see
 * recording-dialect.ts) and this thread executes them in one transaction:
 * executing the multi-row inserts of points, series blocks and image
 * frames and the COMMIT took a third of the event loop under load (CPU
 * profile at 25 trainers with 20 named metrics: points and blocks 21%,
 * COMMIT 12%), time the trainers' streams now get instead. A commit is one
 * transaction here, frames and scalars together, so an ack (sent when
 * `run` resolves) never precedes anything it acknowledges.
 */
export class SqliteWriteThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: () => void; reject: (error: Error) => void }
  >();
  private nextId = 1;
  private readonly exited: Promise<void>;
  private failure: Error | undefined;

  constructor(file: string) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: require.resolve('better-sqlite3'),
        file,
        busyTimeoutMs: WRITE_THREAD_BUSY_TIMEOUT_MS,
        maxPrepared: MAX_PREPARED_STATEMENTS,
      },
    });
    this.worker.on('message', (reply: JobReply) => this.onReply(reply));
    this.worker.on('error', (error) =>
      this.fail(new Error(`store write thread failed: ${error.message}`)),
    );
    this.exited = new Promise<void>((resolve) =>
      this.worker.once('exit', () => {
        this.fail(new Error('store write thread exited'));
        resolve();
      }),
    );
  }

  /**
   * Appends `files` (image frames, frame-files.ts), then executes the
   * statements in one transaction; rejects with the file system's or SQLite's error
   * (the transaction rolled back, the caller retries the batch). Blobs in
   * shared memory (shared-frame-memory.ts) reach the thread without a copy.
   */
  run(
    statements: readonly RecordedStatement[],
    files: readonly SegmentWrite[] = [],
  ): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (statements.length === 0 && files.length === 0) return Promise.resolve();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, statements, files: files.length > 0 ? files : undefined });
    });
  }

  /** SQLite's own WAL auto-checkpoint on the thread's connection (pages; 0 = off): see wal-checkpointer.ts. */
  setAutoCheckpoint(pages: number): void {
    if (this.failure === undefined) this.worker.postMessage({ autoCheckpoint: pages });
  }

  /**
   * Caps the pages the thread's connection may grow the database to
   * (SQLite's max_page_count): what a full disk looks like to SQLite, for
   * the store-failure specs. Applies to the jobs sent after it.
   */
  setMaxPageCount(pages: number): void {
    if (this.failure === undefined) this.worker.postMessage({ maxPageCount: pages });
  }

  /** Ends the thread after the jobs it was given. */
  close(): Promise<void> {
    if (this.failure === undefined) this.worker.postMessage({ close: true });
    return this.exited;
  }

  private onReply(reply: JobReply): void {
    const waiting = this.waiting.get(reply.id);
    if (waiting === undefined) return;
    this.waiting.delete(reply.id);
    if (reply.error === undefined) waiting.resolve();
    else waiting.reject(Object.assign(new Error(reply.error), { code: reply.code }));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
  }
}
