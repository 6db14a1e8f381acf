import { Worker } from 'node:worker_threads';

/** How long the copy waits for a lock a running server's commit holds (a checkpoint's, at most a moment). */
const BUSY_TIMEOUT_MS = 60_000;

// Plain JavaScript run in its own thread (eval: the admin command runs from compiled files and, in
// tests, from TypeScript, so there is no worker file both can name).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.source, { fileMustExist: true });
  db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
  db.prepare('vacuum into ?').run(workerData.target);
  parentPort.postMessage({});
} catch (error) {
  parentPort.postMessage({ error: String((error && error.message) || error), code: error && error.code });
} finally {
  if (db !== undefined) db.close();
}
`;

/**
 * SQLite's `VACUUM INTO target` of the database file `source`, on a thread
 * of its own: one read transaction (one moment of the store, compacted; a
 * running server's commits go on). Off the event loop so that Ctrl-C is
 * answered at once, not when a copy of gigabytes ends; the promise settles
 * only once the thread has ended (a thread stopped inside SQLite's call
 * would take the process down).
 */
export function vacuumInto(source: string, target: string): Promise<void> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver: require.resolve('better-sqlite3'),
      source,
      target,
      busyTimeoutMs: BUSY_TIMEOUT_MS,
    },
  });
  return new Promise((resolve, reject) => {
    let copied = false;
    let failure: Error = new Error('the database copy ended before it finished');
    worker.on('message', (reply: { error?: string; code?: string }) => {
      if (reply.error === undefined) copied = true;
      else failure = Object.assign(new Error(reply.error), { code: reply.code });
    });
    worker.on('error', (error) => (failure = error));
    worker.on('exit', () => (copied ? resolve() : reject(failure)));
  });
}
