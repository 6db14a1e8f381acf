import type {
  Alert,
  AlertRule,
  AlertSettings,
  CommandAuditEntry,
  CustomCommandSpec,
  EpochData,
  ImageFrame,
  PerformanceData,
  SessionSummary,
} from '@trainwatch/proto';
import { LiveConfusion } from '../../per-class/live-confusion';
import { SeriesStore } from '../../series/store/series-store';

/** Most audit entries kept in the browser (the server keeps its own bounded log). */
export const MAX_AUDIT_ENTRIES = 200;
/** Most alerts kept in the browser (the server keeps 100 per session). */
export const MAX_ALERTS = 100;
/** Most epoch summaries kept; far beyond any real run, but a bound all the same. */
export const MAX_EPOCHS = 10_000;

/**
 * What the watch events of one session add up to, mutated in place by the
 * reducers (see session-reducers.ts). The store turns it into an immutable
 * view once per frame.
 */
export class SessionState {
  summary: SessionSummary | undefined;
  readonly epochs = new Map<number, EpochData>();
  performance: PerformanceData | undefined;
  latestFrame: ImageFrame | undefined;
  readonly commands = new Map<string, CommandAuditEntry>();
  /** Confusion matrices of the newest epochs (snapshot plus increments). */
  readonly confusion = new LiveConfusion();
  /** Watchdog alerts by id, in the order they were first raised. */
  readonly alerts = new Map<string, Alert>();
  /** The watchdog rules in effect, from the snapshot and `alertSettings` events. */
  alertRules: AlertRule[] = [];
  /** The rules with the run's webhook URLs (without secrets) and who changed them last. */
  alertSettings: AlertSettings | undefined;
  alertsChanged = true;
  /**
   * The custom commands the trainer offers (snapshot, then status events that
   * change them); replaced whole, never changed in place.
   */
  customCommands: readonly CustomCommandSpec[] = [];
  /** Server receipt of the latest batch to its arrival here, ms. */
  latencyMs: number | undefined;
  epochsChanged = true;
  commandsChanged = true;

  constructor(
    readonly series: SeriesStore,
    readonly now: () => number,
  ) {}

  /**
   * A whole frame replaces the shown one; a later part of a frame too large
   * for one message (first_index > 0) is appended to the frame it continues.
   * A part that continues nothing here (its start was replaced) is dropped.
   */
  putFrame(frame: ImageFrame): void {
    if (frame.firstIndex === 0) {
      this.latestFrame = frame;
      return;
    }
    const current = this.latestFrame;
    if (current?.step !== frame.step || current.images.length !== frame.firstIndex) return;
    this.latestFrame = {
      ...current,
      images: [...current.images, ...frame.images],
      predictions: [...current.predictions, ...frame.predictions],
      groundTruth: [...current.groundTruth, ...frame.groundTruth],
    };
  }

  putEpoch(epoch: EpochData): void {
    this.epochsChanged = true;
    this.epochs.set(epoch.epoch, epoch);
    if (this.epochs.size > MAX_EPOCHS) {
      const oldest = Math.min(...this.epochs.keys());
      this.epochs.delete(oldest);
    }
  }

  /** A raised or changed alert replaces the one with its id; the oldest go past MAX_ALERTS. */
  putAlert(alert: Alert): void {
    this.alertsChanged = true;
    this.alerts.set(alert.alertId, alert);
    while (this.alerts.size > MAX_ALERTS) {
      const oldest = this.alerts.keys().next().value as string;
      this.alerts.delete(oldest);
    }
  }

  putCommand(entry: CommandAuditEntry): void {
    this.commandsChanged = true;
    this.commands.set(entry.commandId, entry);
    while (this.commands.size > MAX_AUDIT_ENTRIES) {
      let oldestId: string | undefined;
      let oldestAt = Infinity;
      for (const [id, candidate] of this.commands) {
        if (Number(candidate.issuedAtMs) < oldestAt) {
          oldestAt = Number(candidate.issuedAtMs);
          oldestId = id;
        }
      }
      if (oldestId === undefined) break;
      this.commands.delete(oldestId);
    }
  }
}
