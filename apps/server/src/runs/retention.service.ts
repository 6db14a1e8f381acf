import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  ORPHAN_FRAMES_GRACE_MS,
  RETENTION_RUNS_PER_SWEEP,
  RETENTION_SWEEP_INTERVAL_MS,
} from '../common/limits';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { RunsService } from './runs.service';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * RETENTION_DAYS (0, the default: keep every run): runs not updated for
 * that long are deleted like DeleteSession does, at start-up and then every
 * RETENTION_SWEEP_INTERVAL_MS, at most RETENTION_RUNS_PER_SWEEP runs a
 * sweep (oldest first) so one sweep never holds the store for long; a run
 * whose trainer streams is kept, and so is one tagged RETENTION_KEEP_TAG
 * ('keep'). At start-up, whatever the setting, the
 * frames folders of runs the store no longer has are deleted.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly runs: RunsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.runs.hasStore) return;
    void this.sweepOrphanFrames();
    if (this.settings.retentionDays === 0) return;
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), RETENTION_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One sweep; resolves with the runs it deleted. One at a time. */
  sweep(now = Date.now()): Promise<number> {
    this.sweeping ??= this.deleteExpired(now).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOrphanFrames(): Promise<number> {
    try {
      const removed = await this.runs.sweepOrphanFrames(ORPHAN_FRAMES_GRACE_MS);
      if (removed > 0)
        this.logger.log(`deleted ${removed} frames folder(s) of runs no longer stored`);
      return removed;
    } catch (error) {
      // Left for the next start: nothing depends on it.
      this.logger.warn(`sweep of orphaned frames folders failed: ${String(error)}`);
      return 0;
    }
  }

  private async deleteExpired(now: number): Promise<number> {
    try {
      const before = now - this.settings.retentionDays * DAY_MS;
      const expired = await this.runs.expiredRuns(before, RETENTION_RUNS_PER_SWEEP);
      let deleted = 0;
      // Each looked at again as its turn comes: a trainer may have resumed it meanwhile.
      for (const id of expired) if (await this.runs.deleteExpiredRun(id, before)) deleted++;
      if (deleted > 0) {
        this.logger.log(
          `deleted ${deleted} run(s) not updated for ${this.settings.retentionDays} days`,
        );
      }
      return deleted;
    } catch (error) {
      // The store is down: the next sweep tries again (the writer reports the outage on health).
      this.logger.warn(`retention sweep failed: ${String(error)}`);
      return 0;
    }
  }
}
