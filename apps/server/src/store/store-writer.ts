import { statfsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { LOSS_SERIES, SeriesKind, type Alert } from '@trainwatch/proto';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { CommitBacklog } from '../events/commit-backlog';
import { SessionEventBus } from '../events/event-bus';
import { HealthService } from '../health/health.service';
import { MetricsService } from '../metrics/metrics.service';
import type { Session } from '../sessions/session';
import { SharedSlabPool } from './shared-frame-memory';
import { RECENT_FRAME_STEPS, type RetentionPolicy } from './image-retention';
import { PendingWrites } from './pending-writes';
import { postgresAddress, type OpenDatabase } from './open-database';
import { STORE_DATABASE, type StoreDatabase } from './store-database';
import { fullDisk, isStoreUnavailable } from './store-errors';
import { WriterState, writeFlush } from './write-flush';

/** First retry after a failed commit; doubles up to the maximum below. */
export const STORE_RETRY_INITIAL_MS = 50;
/** Longest wait between two commit attempts while the store fails. */
export const STORE_RETRY_MAX_MS = 2000;
/** The backlog is released once pending bytes fall to this share of STORE_MAX_PENDING_BYTES. */
const BACKLOG_RELEASE_SHARE = 0.5;
/** Bound on the last commit at shutdown. */
const SHUTDOWN_FLUSH_TIMEOUT_MS = 3000;

/**
 * Writes every session event to the store with group commit: events of
 * all sessions collect in one batch, and one transaction every
 * STORE_FLUSH_INTERVAL_MS writes it, with each touched session's row (its
 * last applied sequence included). A listener returns the promise of the
 * commit holding its event, so the trainer's ack waits for it
 * (IngestService.apply).
 *
 * When a commit fails (store down, disk full), the batch is kept and
 * retried with backoff, later events joining it; acks wait, health is
 * NOT_SERVING with the reason, and past STORE_MAX_PENDING_BYTES the
 * CommitBacklog is held so trainer streams stop being read. The first
 * commit that succeeds releases every waiting ack and health recovers.
 */
@Injectable()
export class StoreWriter implements OnApplicationShutdown {
  private readonly logger = new Logger('Store');
  private readonly state: WriterState | undefined;
  private readonly retention: RetentionPolicy;
  /** Shared memory of committed batches' frames, reused by the next batches (see shared-frame-memory.ts). */
  private readonly frameSlabs = new SharedSlabPool();
  /** Events since the batch being committed. */
  private queue: PendingWrites;
  /** performance.now() when the queue's first event arrived: its commit starts at most an interval later. */
  private queueSince: number | undefined;
  /** The batch a commit is writing or will retry; undefined when none. */
  private inFlight: PendingWrites | undefined;
  private timer: NodeJS.Timeout | undefined;
  private committing = false;
  /** The commit attempt under way (settles whatever its outcome); undefined between attempts. */
  private attempt: Promise<void> | undefined;
  private retryDelayMs = STORE_RETRY_INITIAL_MS;
  private failure: string | undefined;
  /** The failure's cause as last logged (the reason without the bytes waiting). */
  private loggedCause: string | undefined;
  /** Commit attempts that failed since start (trainwatch_store_commit_failures_total). */
  private commitFailures = 0;
  private stopped = false;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    @Inject(STORE_DATABASE) private readonly database: StoreDatabase,
    bus: SessionEventBus,
    private readonly backlog: CommitBacklog,
    private readonly health: HealthService,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.retention = {
      recentSteps: RECENT_FRAME_STEPS,
      budgetBytes: settings.storeImageBytesPerRun,
    };
    this.queue = this.newBatch();
    if (database === null) return;
    this.state = new WriterState(database);
    if (metrics !== undefined) this.registerMetrics(metrics, database);
    bus.on('session.registered', ({ session }) => this.touched(session));
    bus.on('batch.applied', ({ session, batch, step, receivedAtMs }) => {
      const queue = this.queue;
      const time = Number(batch.timestampMs) || receivedAtMs;
      queue.addPoint(session, LOSS_SERIES, SeriesKind.STEP, step, batch.batchLoss, time);
      const metrics = batch.metrics;
      for (const name in metrics) {
        queue.addPoint(session, name, SeriesKind.STEP, step, metrics[name] as number, time);
      }
      return this.touched(session);
    });
    bus.on('scalars.applied', ({ session, scalars, timestampMs }) => {
      const values = scalars.values;
      for (const name in values) {
        this.queue.addPoint(
          session,
          name,
          SeriesKind.STEP,
          scalars.step,
          values[name] as number,
          timestampMs,
        );
      }
      return this.touched(session);
    });
    bus.on('epoch.applied', ({ session, epoch, timestampMs }) => {
      const metrics = epoch.metrics;
      const x = BigInt(epoch.epoch);
      for (const name in metrics) {
        this.queue.addPoint(
          session,
          name,
          SeriesKind.EPOCH,
          x,
          metrics[name] as number,
          timestampMs,
        );
      }
      this.queue.addEpoch(session, epoch, timestampMs);
      return this.touched(session);
    });
    bus.on('images.received', ({ session, frame }) => {
      this.queue.addFrame(session, frame);
      return this.touched(session);
    });
    bus.on('performance.applied', ({ session, performance }) => {
      this.queue.addPerformance(
        session,
        performance,
        Number(performance.timestampMs) || Date.now(),
      );
      return this.touched(session);
    });
    bus.on('confusion.counted', ({ session, matrix }) => {
      this.queue.markConfusion(session, matrix.epoch);
      return this.touched(session);
    });
    bus.on('metadata.changed', ({ session }) => this.touched(session));
    bus.on('status.changed', ({ session, status }) => {
      this.queue.addStatus(session, status);
      return this.touched(session);
    });
    const keepAlert = ({ session, alert }: { session: Session; alert: Alert }) => {
      this.queue.addAlert(session, alert);
      return this.touched(session);
    };
    bus.on('alert.changed', keepAlert);
    bus.on('alert.folded', keepAlert);
    bus.on('alert-settings.changed', ({ session }) => {
      this.queue.markAlertSettings(session);
      return this.touched(session);
    });
    bus.on('command.recorded', ({ session, entry }) => {
      this.queue.addCommand(session, entry);
      return this.touched(session);
    });
  }

  /** The store's gauges and counters on /metrics, read at scrape time. */
  private registerMetrics(metrics: MetricsService, database: OpenDatabase): void {
    metrics.gauge(
      'store_healthy',
      'Whether store commits succeed: 1, or 0 while they fail and acks wait (health says why).',
      () => (this.failure === undefined ? 1 : 0),
    );
    metrics.counter(
      'store_commit_failures_total',
      'Store commit attempts that failed (each is retried; nothing is dropped).',
      () => this.commitFailures,
    );
    metrics.gauge(
      'store_pending_bytes',
      'Bytes of applied trainer messages waiting for a store commit (their acks wait with them).',
      () => this.pendingBytes,
    );
    metrics.gauge(
      'store_backlog_held',
      'Whether trainer streams are paused because store_pending_bytes passed STORE_MAX_PENDING_BYTES.',
      () => (this.backlog.isHeld ? 1 : 0),
    );
    const sqlite = database.sqlite;
    if (sqlite !== undefined) {
      const file = sqlite.name;
      metrics.gauge(
        'store_database_bytes',
        'SQLite: bytes of the database file and its WAL (image frames are in segment files beside them).',
        () => fileBytes(file) + fileBytes(`${file}-wal`),
      );
    }
    // Where the store writes on this machine: SQLite's DATA_DIR (its frames included), PostgreSQL's FRAMES_DIR.
    const folder = sqlite !== undefined ? this.settings.dataDir : this.settings.framesDir;
    if (folder !== '') {
      metrics.gauge(
        'store_disk_free_bytes',
        `Bytes free for the server on the disk holding ${sqlite !== undefined ? 'DATA_DIR' : 'FRAMES_DIR'}: when it reaches 0, commits fail and acks wait until there is room.`,
        () => diskFreeBytes(folder),
      );
    }
  }

  /** Why commits fail, while they do. */
  get failureReason(): string | undefined {
    return this.failure;
  }

  /** Bytes of applied messages waiting for a commit. */
  get pendingBytes(): number {
    return this.queue.bytes + (this.inFlight?.bytes ?? 0);
  }

  /**
   * Commits what waits now, and resolves when it (or a later retry) has.
   * For readers that must see everything applied so far (and for tests).
   */
  flushNow(): Promise<void> {
    if (this.database === null) return Promise.resolve();
    const target = this.queue.empty ? this.inFlight : this.queue;
    if (target === undefined) return Promise.resolve();
    this.schedule(0);
    return target.committed;
  }

  /**
   * Forgets everything waiting for `sessionId` and what the writer remembers
   * of it (the run is being deleted), then waits for a commit attempt
   * already under way (it may still write the run's frames): call and await
   * before deleting its rows.
   */
  async discardSession(sessionId: string): Promise<void> {
    this.queue.discard(sessionId);
    this.inFlight?.discard(sessionId);
    this.state?.forget(sessionId);
    await this.attempt;
    this.state?.forget(sessionId);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.database === null) return;
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    // One last commit of what waits (its acks may still reach trainers whose streams are closing).
    const deadline = new Promise<void>((resolve) =>
      setTimeout(resolve, SHUTDOWN_FLUSH_TIMEOUT_MS).unref(),
    );
    await Promise.race([this.lastCommit(), deadline]);
    await this.database.close();
  }

  /** A batch whose frames the write thread (when there is one) reads without a copy. */
  private newBatch(): PendingWrites {
    return new PendingWrites(
      this.database?.writeThread !== undefined ? this.frameSlabs.memory() : undefined,
    );
  }

  /** Marks the session's row for the next commit; returns that commit's promise (the ack waits for it). */
  private touched(session: Parameters<PendingWrites['touch']>[0]): Promise<void> {
    const queue = this.queue;
    queue.touch(session);
    queue.events += 1;
    this.queueSince ??= performance.now();
    if (this.pendingBytes > this.settings.storeMaxPendingBytes && !this.backlog.isHeld) {
      this.logger.warn(
        `${this.pendingBytes} bytes wait for a commit (STORE_MAX_PENDING_BYTES=${this.settings.storeMaxPendingBytes}): trainer streams pause until the store catches up`,
      );
      this.backlog.hold();
    }
    if (this.timer === undefined && !this.committing)
      this.schedule(this.settings.storeFlushIntervalMs);
    // The queue's commit: a batch being written or retried now does not hold this event (a retry absorbs the queue).
    return queue.committed;
  }

  /**
   * Time left until the queue's oldest event has waited STORE_FLUSH_INTERVAL_MS:
   * events that arrived during a commit do not wait for that commit and a whole interval more.
   */
  private untilDue(): number {
    const since = this.queueSince ?? performance.now();
    return Math.max(0, since + this.settings.storeFlushIntervalMs - performance.now());
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.commit();
    }, delayMs);
  }

  /** One commit attempt: the failed batch (if any) with everything since, else the queue. */
  private commit(): Promise<void> {
    if (this.committing || this.database === null || this.state === undefined) {
      return Promise.resolve();
    }
    const attempt = this.attemptCommit(this.database, this.state);
    this.attempt = attempt;
    void attempt.finally(() => {
      if (this.attempt === attempt) this.attempt = undefined;
    });
    return attempt;
  }

  private async attemptCommit(database: OpenDatabase, state: WriterState): Promise<void> {
    const later = this.queue;
    this.queue = this.newBatch();
    this.queueSince = undefined;
    let batch = this.inFlight;
    if (batch === undefined) batch = later;
    else batch.absorb(later);
    if (batch.empty) {
      batch.settle();
      this.inFlight = undefined;
      return;
    }
    this.inFlight = batch;
    this.committing = true;
    const started = performance.now();
    try {
      // Never a commit into a folder another server has taken (a removed server.lock).
      database.checkLock?.();
      await writeFlush(database, batch, state, this.retention);
      this.metrics?.observeStoreCommit(performance.now() - started);
      this.inFlight = undefined;
      this.committed();
      batch.settle();
    } catch (error) {
      this.metrics?.observeStoreCommit(performance.now() - started);
      this.failed(error);
    } finally {
      this.committing = false;
    }
    if (this.inFlight !== undefined) this.schedule(this.retryDelayMs);
    else if (!this.queue.empty) this.schedule(this.untilDue());
  }

  private committed(): void {
    this.retryDelayMs = STORE_RETRY_INITIAL_MS;
    if (this.failure !== undefined) {
      this.logger.log(`store commits again; acks resume`);
      this.failure = undefined;
      this.loggedCause = undefined;
      this.health.setStoreProblem(undefined);
    }
    if (
      this.backlog.isHeld &&
      this.pendingBytes <= this.settings.storeMaxPendingBytes * BACKLOG_RELEASE_SHARE
    ) {
      this.backlog.release();
    }
  }

  private failed(error: unknown): void {
    // A SQLite error can leave its transaction open (SQLITE_FULL rolls back by itself); never leave it so.
    const sqlite = this.database?.sqlite;
    if (sqlite?.inTransaction === true) sqlite.exec('ROLLBACK');
    const message = error instanceof Error ? error.message : String(error);
    // What /healthz, the dashboards' banner and the log say: which database or disk, when it is away or full.
    const cause = this.failureCause(error, message);
    const full = fullDisk(error);
    const reason =
      full === undefined
        ? cause
        : `${cause}: ${readableBytes(this.pendingBytes)} of trainer messages wait to be written, and acks resume by themselves once they fit`;
    // Logged once per cause, not on every retry (the waiting bytes grow between them).
    if (this.loggedCause !== cause) {
      this.logger.error(
        `store commit failed, retrying (acks wait, nothing is dropped): ${reason}`,
        error instanceof Error ? error.stack : undefined,
      );
    }
    this.loggedCause = cause;
    this.failure = reason;
    this.commitFailures += 1;
    this.health.setStoreProblem(reason);
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, STORE_RETRY_MAX_MS);
  }

  /** What failed, in the words /healthz and the log use: which database, folder or disk. */
  private failureCause(error: unknown, message: string): string {
    const postgres = this.database?.engine === 'postgres';
    const where = postgres ? `PostgreSQL at ${postgresAddress(this.settings.databaseUrl)}` : '';
    switch (fullDisk(error)) {
      case 'postgres':
        return `${where} has no disk space left (${message})`;
      case 'files':
        // Segment files of image frames: FRAMES_DIR with PostgreSQL, DATA_DIR/frames with SQLite.
        return postgres
          ? `the disk holding FRAMES_DIR (${resolve(this.settings.framesDir)}) is full (${message})`
          : `the disk holding DATA_DIR (${resolve(this.settings.dataDir)}) is full (${message})`;
      case 'database':
        return `the disk holding DATA_DIR (${resolve(this.settings.dataDir)}) is full (${message})`;
      default:
        return postgres && isStoreUnavailable(error)
          ? `${where} is unavailable: ${message}`
          : message;
    }
  }

  private async lastCommit(): Promise<void> {
    while (!this.queue.empty || this.inFlight !== undefined) {
      if (!this.committing) await this.commit();
      else await new Promise((resolve) => setImmediate(resolve));
      if (this.failure !== undefined) return;
    }
  }
}

/** Bytes as the health reason gives them: kB under a megabyte (rounded up, never "0.0 MB"), else MB. */
function readableBytes(bytes: number): string {
  return bytes < 1e6 ? `${Math.ceil(bytes / 1e3)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Bytes an unprivileged writer may still use on the disk holding `folder` (NaN when it cannot be read). */
function diskFreeBytes(folder: string): number {
  try {
    const disk = statfsSync(folder);
    return disk.bavail * disk.bsize;
  } catch {
    return Number.NaN;
  }
}

/** Size of a file, 0 when it is not there (a WAL after a truncating checkpoint). */
function fileBytes(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}
