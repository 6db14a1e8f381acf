import type {
  Alert,
  AlertRule,
  AlertSettings,
  BatchData,
  CommandAuditEntry,
  ConfusionMatrix,
  EpochData,
  ImageFrame,
  PerformanceData,
  RunMetadata,
  ScalarsData,
  StatusEvent,
} from '@trainwatch/proto';
import type { Session } from '../sessions/session';

/**
 * What happens to a session, as typed events on the internal bus. Emitters
 * (ingest, sessions, commands) do not know who listens; fan-out, history and
 * metrics subscribe (and later the store and the watchdog). Payloads are
 * the applied messages themselves, never copies: a listener must not change them.
 */
export interface SessionEventMap {
  /** A trainer registered the session (new, or again after a restart of either side). */
  'session.registered': {
    session: Session;
    resumed: boolean;
    /** The watchdog rules the trainer asked for (SessionInfo.alert_rules), validated. */
    alertRules: readonly AlertRule[];
    /** The webhook URLs the trainer gave (SessionInfo.webhook_urls), checked. */
    webhookUrls: readonly string[];
  };
  /** A batch passed validation and moved the session's position. */
  'batch.applied': {
    session: Session;
    batch: BatchData;
    /** Global step of the batch. */
    step: bigint;
    /** MetricsRequest.sequence (0 for an unnumbered message). */
    sequence: bigint;
    receivedAtMs: number;
  };
  /** A batch's sample images (the frame the snapshot holds and watchers get). */
  'images.received': { session: Session; frame: ImageFrame };
  'epoch.applied': { session: Session; epoch: EpochData; timestampMs: number };
  'scalars.applied': { session: Session; scalars: ScalarsData; timestampMs: number };
  'performance.applied': { session: Session; performance: PerformanceData };
  /** The run's metadata after a merge: the whole of it, a new object each time. */
  'metadata.changed': { session: Session; metadata: RunMetadata };
  /** Status, connection, config, conflict or history marks changed. */
  'status.changed': { session: Session; status: StatusEvent };
  /** A command was issued or its audit entry changed. */
  'command.recorded': { session: Session; entry: CommandAuditEntry };
  /**
   * A batch's predictions were counted into its epoch's confusion matrix
   * (Session.confusion); `matrix` is what they added (an increment).
   */
  'confusion.counted': { session: Session; matrix: ConfusionMatrix };
  /** A heartbeat arrived (not sequenced, not acknowledged). */
  'heartbeat.received': { session: Session };
  /** A watchdog alert was raised or changed (folded firings, acknowledged, webhook failures). */
  'alert.changed': { session: Session; alert: Alert };
  /**
   * Another firing was folded into an open alert (count, last time): kept by
   * the store, not announced to watchers (they hear of it at 2, 4, 8... firings).
   */
  'alert.folded': { session: Session; alert: Alert };
  /** The session's effective watchdog rules or webhook URLs changed (as dashboards see them). */
  'alert-settings.changed': { session: Session; settings: AlertSettings };
}

export type SessionEventName = keyof SessionEventMap;

/** Every event name, for listeners that count them all; `satisfies` keeps it complete. */
export const SESSION_EVENT_NAMES = Object.keys({
  'batch.applied': true,
  'images.received': true,
  'epoch.applied': true,
  'scalars.applied': true,
  'performance.applied': true,
  'metadata.changed': true,
  'status.changed': true,
  'command.recorded': true,
  'heartbeat.received': true,
  'session.registered': true,
  'confusion.counted': true,
  'alert.changed': true,
  'alert.folded': true,
  'alert-settings.changed': true,
} satisfies Record<SessionEventName, true>) as SessionEventName[];
