import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { FromWatchers, ToWatchers } from './watcher-protocol';
import type { WatchEndpoint, WatchProtocol } from './watchers';

/**
 * Watchers per process: 1, 10 or 100 watchers are one process beside the trainer's, so they use
 * at most one of the two cores and the server keeps the other (4 processes of 25 took up to 133%
 * of a core between them).
 */
export const WATCHERS_PER_PROCESS = 100;
/** How long the watchers of one process may take to receive their first event. */
const READY_TIMEOUT_MS = 30_000;

/** What one process's watchers received in the recorded window; times in this process's performance.now(). */
export interface Arrivals {
  /** batch_idx, arrival, server apply (Unix ms; 0 when unknown), flattened. */
  batches: number[];
  /** batch_idx, arrival, flattened. */
  images: number[];
  dropped: number;
  error?: string;
}

type Arrived = Extract<FromWatchers, { kind: 'arrivals' }>;

/** One forked process of watchers (watcher-process.ts) and its replies, one at a time. */
class WatcherProcess {
  private readonly child: ChildProcess;
  private waiting: ((message: FromWatchers) => void) | undefined;
  private exitError: string | undefined;

  constructor() {
    this.child = fork(join(__dirname, 'watcher-process.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (message: FromWatchers) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(message);
    });
    this.child.on('exit', (code, signal) => {
      this.exitError = `watcher process ended (${signal ?? `exit code ${code}`})`;
      this.waiting?.({ kind: 'error', message: this.exitError });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  tell(message: ToWatchers): void {
    if (this.exitError === undefined) this.child.send(message);
  }

  /** Sends `message` and resolves with the reply, rejecting after `timeoutMs`. */
  ask(message: ToWatchers, timeoutMs: number): Promise<FromWatchers> {
    if (this.exitError !== undefined) return Promise.reject(new Error(this.exitError));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(
          new Error(`watcher process ${this.pid}: no answer to ${message.kind} in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiting = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.child.send(message);
    });
  }

  async close(): Promise<void> {
    if (this.exitError !== undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.tell({ kind: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Watchers in processes of their own (WATCHERS_PER_PROCESS each), as
 * dashboards are browsers apart from the trainer: the trainer's process only
 * sends, so a busy watcher does not delay a send and hide its own lag.
 * Arrival times come back as Unix ms and are turned into this process's
 * performance.now().
 */
export class WatcherProcesses {
  private constructor(private readonly processes: WatcherProcess[]) {}

  /** Forks the processes, opens `count` watchers and waits until each has received something. */
  static async open(
    target: WatchEndpoint,
    protocol: WatchProtocol,
    sessionId: string,
    count: number,
  ): Promise<WatcherProcesses> {
    const processes: WatcherProcess[] = [];
    const pool = new WatcherProcesses(processes);
    try {
      for (let opened = 0; opened < count; opened += WATCHERS_PER_PROCESS) {
        const child = new WatcherProcess();
        processes.push(child);
        const reply = await child.ask(
          {
            kind: 'open',
            target: { kind: target.kind, grpcAddress: target.grpcAddress, httpUrl: target.httpUrl },
            protocol,
            sessionId,
            count: Math.min(WATCHERS_PER_PROCESS, count - opened),
          },
          READY_TIMEOUT_MS,
        );
        if (reply.kind === 'error') throw new Error(`watcher failed: ${reply.message}`);
      }
      return pool;
    } catch (error) {
      await pool.close();
      throw error;
    }
  }

  /** Process ids, to sample their CPU. */
  get pids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  /** Keeps arrivals of batch_idx >= from. */
  record(from: number): void {
    for (const child of this.processes) child.tell({ kind: 'record', from });
  }

  /** The arrivals of batch_idx < to, from every process, once complete or after drainMs. */
  async collect(to: number, drainMs: number): Promise<Arrivals[]> {
    const replies = await Promise.all(
      this.processes.map((child) => child.ask({ kind: 'collect', to, drainMs }, drainMs + 30_000)),
    );
    return replies.map((reply) => {
      if (reply.kind !== 'arrivals')
        throw new Error(reply.kind === 'error' ? reply.message : reply.kind);
      return toLocalTimes(reply);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((child) => child.close()));
  }
}

/** Unix ms → this process's performance.now() (arrivals; the apply time stays Unix ms). */
function toLocalTimes(reply: Arrived): Arrivals {
  const batches = reply.batches.slice();
  for (let i = 1; i < batches.length; i += 3)
    batches[i] = (batches[i] as number) - performance.timeOrigin;
  const images = reply.images.slice();
  for (let i = 1; i < images.length; i += 2)
    images[i] = (images[i] as number) - performance.timeOrigin;
  return { batches, images, dropped: reply.dropped, error: reply.error };
}
