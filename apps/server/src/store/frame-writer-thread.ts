import { Worker } from 'node:worker_threads';

/** How long the thread waits for the write lock another connection holds (the main one commits briefly). */
const FRAME_THREAD_BUSY_TIMEOUT_MS = 5000;

/** One image frame row: session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame. */
export type FrameRow = [string, number, number, number, number, number, Uint8Array];

/**
 * What one frame commit writes: new frames and the thinned ones deleted.
 * Each run's new totals are written by the main commit (a new run's row
 * exists only once that commits); the thread is not sent them.
 */
export interface FrameJob {
  inserts: FrameRow[];
  /** [session_id, step] of stored frames the retention policy dropped. */
  deletes: [string, number][];
  /** [stored_frames, stored_image_bytes, session_id]. */
  totals: [number, number, string][];
}

interface JobReply {
  id: number;
  error?: string;
  code?: string;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
db.pragma('wal_autocheckpoint = 0');
if (workerData.maxPageCount !== undefined) db.pragma('max_page_count = ' + workerData.maxPageCount);
const insert = db.prepare('insert into image_frames (session_id, step, epoch, batch_idx, timestamp_ms, bytes, frame) values (?, ?, ?, ?, ?, ?, ?) on conflict (session_id, step) do update set epoch = excluded.epoch, batch_idx = excluded.batch_idx, timestamp_ms = excluded.timestamp_ms, bytes = excluded.bytes, frame = excluded.frame');
const remove = db.prepare('delete from image_frames where session_id = ? and step = ?');
const write = db.transaction((job) => {
  for (const row of job.inserts) insert.run(row);
  for (const row of job.deletes) remove.run(row);
});
parentPort.on('message', (message) => {
  if (message.close) { db.close(); parentPort.close(); return; }
  try {
    write(message.job);
    parentPort.postMessage({ id: message.id });
  } catch (error) {
    if (db.inTransaction) { try { db.exec('ROLLBACK'); } catch {} }
    parentPort.postMessage({ id: message.id, error: String((error && error.message) || error), code: error && error.code });
  }
});
`;

/**
 * Writes image frames to SQLite on a thread of its own, with its own
 * connection. Frames are most of the bytes a commit writes (16 × 2 KB per
 * batch): their inserts and the COMMIT that puts them in the WAL took ~20%
 * of the event loop under load. WAL allows one writer at a time, so the
 * store writer runs a frame commit and then its own, never both at once;
 * the ack waits for both. The frame commit goes first: a crash between the
 * two leaves frames whose batch was not acknowledged, which the trainer
 * sends again and the (session, step) key stores once.
 */
export class FrameWriterThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: () => void; reject: (error: Error) => void }
  >();
  private nextId = 1;
  private readonly exited: Promise<void>;
  private failure: Error | undefined;

  constructor(file: string, maxPageCount: number | undefined) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: require.resolve('better-sqlite3'),
        file,
        busyTimeoutMs: FRAME_THREAD_BUSY_TIMEOUT_MS,
        maxPageCount,
      },
    });
    this.worker.on('message', (reply: JobReply) => this.onReply(reply));
    this.worker.on('error', (error) =>
      this.fail(new Error(`image frame writer thread failed: ${error.message}`)),
    );
    this.exited = new Promise<void>((resolve) =>
      this.worker.once('exit', () => {
        this.fail(new Error('image frame writer thread exited'));
        resolve();
      }),
    );
  }

  /** Commits the job in one transaction; rejects with SQLite's error (the caller retries the batch). */
  write(job: FrameJob): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Frames the store writer encoded in shared memory (allocateShared) reach the thread without a
      // copy: cloning each frame's buffer took 5-13% of the event loop at 38 trainers (CPU profile,
      // `postMessage` self time). The batch keeps them for a retry.
      this.worker.postMessage({ id, job: { inserts: job.inserts, deletes: job.deletes } });
    });
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
