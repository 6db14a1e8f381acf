import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** How often the checkpoint thread copies the WAL into the database file. */
export const WAL_CHECKPOINT_INTERVAL_MS = 100;
/**
 * WAL pages past which the writer checkpoints inside its own commits again
 * (SQLite's default behaviour), because the checkpoint thread is not keeping
 * up or is gone: the WAL never grows beyond about this (8 KB pages: 128 MB).
 */
export const MAX_WAL_PAGES_BEHIND = 16_384;
/** SQLite's own auto-checkpoint threshold (pages), used while the thread is behind. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;
/** Size the WAL file is truncated back to after it was reset (bytes). */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** What the checkpoint thread reports after each checkpoint. */
interface CheckpointReport {
  /** Pages in the WAL, or -1 when the checkpoint failed. */
  walPages: number;
  error?: string;
}

// Plain JavaScript run in its own thread (eval: the server runs from compiled files and, in tests, from
// TypeScript, so there is no worker file both can name). Its connection only checkpoints.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
let timer;
const checkpoint = () => {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ walPages: row.log });
  } catch (error) {
    parentPort.postMessage({ walPages: -1, error: String(error && error.message || error) });
  }
};
const loop = () => { checkpoint(); timer = setTimeout(loop, workerData.intervalMs); };
timer = setTimeout(loop, workerData.intervalMs);
parentPort.on('message', () => {
  clearTimeout(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Runs SQLite's WAL checkpoints on a thread of their own. A checkpoint
 * copies the WAL into the database file and fsyncs it; done inside a
 * commit (SQLite's default, every 1,000 pages) it blocked the event loop
 * for most of each commit's time under image ingest (the CPU profile put
 * 16% of wall time in COMMIT at 25 trainers). Commits in WAL mode with
 * synchronous=NORMAL do not fsync, so with the checkpoint moved here the
 * event loop only writes the WAL. If the thread falls MAX_WAL_PAGES_BEHIND
 * or fails, the writer's own auto-checkpoint comes back until it recovers.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private autoCheckpoint = false;
  private readonly exited: Promise<void>;
  private stopping = false;
  /** Told SQLite's auto-checkpoint setting (pages, 0 = off) too: another connection that commits (the write thread). */
  onAutoCheckpoint: ((pages: number) => void) | undefined;

  constructor(
    private readonly sqlite: BetterSqlite3.Database,
    file: string,
    private readonly onProblem: (message: string | undefined) => void = () => undefined,
  ) {
    sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    sqlite.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: require.resolve('better-sqlite3'),
        file,
        intervalMs: WAL_CHECKPOINT_INTERVAL_MS,
      },
    });
    this.worker.on('message', (report: CheckpointReport) => this.onReport(report));
    this.worker.on('error', (error) => {
      this.setAutoCheckpoint(true);
      this.onProblem(`WAL checkpoint thread failed: ${error.message}`);
    });
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    // The thread must not keep the process alive on its own.
    this.worker.unref();
  }

  /** Last checkpoint on the thread, then stops it (call before closing the writer's connection). */
  close(): Promise<void> {
    // Held now: the last checkpoint of a long WAL can take seconds, and a process with nothing else
    // to do (a script that filled a store) would otherwise exit with the close still pending.
    this.worker.ref();
    if (!this.stopping) this.worker.postMessage('stop');
    this.stopping = true;
    return this.exited;
  }

  private onReport(report: CheckpointReport): void {
    if (report.error !== undefined) this.onProblem(`WAL checkpoint failed: ${report.error}`);
    this.setAutoCheckpoint(report.walPages < 0 || report.walPages > MAX_WAL_PAGES_BEHIND);
  }

  private setAutoCheckpoint(on: boolean): void {
    if (on === this.autoCheckpoint || !this.sqlite.open) return;
    this.autoCheckpoint = on;
    const pages = on ? SQLITE_AUTOCHECKPOINT_PAGES : 0;
    this.sqlite.pragma(`wal_autocheckpoint = ${pages}`);
    this.onAutoCheckpoint?.(pages);
  }
}
