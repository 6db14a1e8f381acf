import { create, toBinary } from '@bufbuild/protobuf';
import {
  ConfusionMatrixSchema,
  AlertSchema,
  AlertRuleSchema,
  AlertSettingsSchema,
  ConnectionState,
  CustomCommandSpecSchema,
  SessionSummarySchema,
  TrainingConfigSchema,
  TrainingStatus,
  globalStep,
  isFinished,
  type Alert,
  type AlertRule,
  type AlertSettings,
  type CommandAuditEntry,
  type CustomCommandSpec,
  type EpochData,
  type ImageFrame,
  type PerformanceData,
  type RunMetadata,
  type SessionSnapshot,
  type SessionSummary,
  type TrainingConfig,
  type WriterConflict,
} from '@trainwatch/proto';
import {
  DASHBOARD_MESSAGE_BUDGET_BYTES,
  MAX_ALERTS_PER_SESSION,
  MAX_EPOCHS_KEPT,
} from '../common/limits';
import { ConfusionHistory } from '../history/confusion-matrix';
import { SessionSeries, type SeriesBounds } from '../history/session-series';
import { boundedSnapshot } from './bounded-snapshot';
import { newResumeToken } from './resume-token';
import { redactedWebhookUrl } from '../watchdog/webhook-urls';
import type { TrainerLink } from './trainer-link';

/** Bounds of one session's in-memory history. */
export interface SessionBounds extends Partial<Omit<SeriesBounds, 'lossHistoryPoints'>> {
  lossHistoryPoints: number;
  commandAuditSize: number;
}

/** Series bounds a Session built without them uses (the settings' defaults). */
const DEFAULT_SERIES_SHARE = { seriesHistoryPoints: 4000, seriesHistoryPointsTotal: 100_000 };

/** Everything the server knows about one training run, bounded in memory. */
export class Session {
  /** Display name set with UpdateSession; '' shows the id. */
  name = '';
  clientName = '';
  clientVersion = '';
  config: TrainingConfig | undefined;
  status = TrainingStatus.INITIALIZING;
  statusMessage = '';
  connection = ConnectionState.CONNECTED;
  lastUpdateMs: number;
  /** Position of the latest applied batch; undefined before the first. */
  position: { epoch: number; batchIdx: number } | undefined;
  latestLoss: number | undefined;
  batchesReceived = 0n;
  /**
   * Highest MetricsRequest.sequence applied or rejected for its payload:
   * anything at or below is a replay. A SEQUENCE_GAP rejection leaves it.
   */
  lastSequence = 0n;
  /** When the last sequenced message was accepted; undefined before the first on this server. */
  lastSequencedAtMs: number | undefined;
  /** Secret the trainer that registered the session proves itself with (SessionResponse.resume_token). */
  resumeToken = newResumeToken();
  /** The API key that created the session (AUTH=required); '' when made with auth off. */
  ownerKeyId = '';
  /** True when this server does not hold the run from its start (see SessionSummary.partial_history). */
  partialHistory = false;
  /** First global step held when partialHistory; undefined until a batch is applied. */
  historyStartStep: bigint | undefined;
  /** The latest refused second writer, while the session's trainer stream is open. */
  writerConflict: WriterConflict | undefined;
  /** When watchers and the live trainer were last told about a writer conflict. */
  lastConflictNoticeMs: number | undefined;
  /** Number of the latest scalar event published to watchers (WatchSessionResponse.cursor). */
  cursor = 0n;
  /** When the last message (of any kind) or registration arrived. */
  lastSeenMs: number;
  /** Every series (loss, named metrics, system series), bounded (see SessionSeries). */
  readonly series: SessionSeries;
  /** Confusion matrices of the newest epochs, counted from every batch's predictions. */
  readonly confusion = new ConfusionHistory();
  /** Hyperparameters, tags and note merged from every RunMetadata; replaced, never changed, on a merge. */
  metadata: RunMetadata | undefined;
  readonly epochs: EpochData[] = [];
  latestPerformance: PerformanceData | undefined;
  latestImages: ImageFrame | undefined;
  /** Command audit log, oldest first, newest `commandAuditSize` kept. */
  readonly commands: CommandAuditEntry[] = [];
  /** Watchdog alerts, oldest first, newest MAX_ALERTS_PER_SESSION kept. */
  readonly alerts: Alert[] = [];
  /** The watchdog rules in effect (set by the watchdog at registration). */
  alertRules: AlertRule[] = [];
  /** Rules an operator changed (SetAlertRules): laid over the trainer's at each registration. */
  operatorAlertRules: AlertRule[] = [];
  /** The session's own webhook URLs (secrets included: never logged or sent to a dashboard). */
  webhookUrls: string[] = [];
  /** True once an operator set webhookUrls: the trainer's URLs no longer replace them. */
  webhookUrlsFromOperator = false;
  /** Who changed the alert settings from the dashboard last, and when (0: nobody). */
  alertSettingsBy = '';
  alertSettingsAtMs = 0;
  /**
   * Custom commands the trainer advertised at its latest registration
   * (bounded by MAX_CUSTOM_COMMANDS and MAX_COMMAND_ARGUMENTS); not stored:
   * only a registered trainer can run them, and it advertises them again.
   */
  customCommands: CustomCommandSpec[] = [];
  /** The open StreamMetrics stream, if any. */
  trainer: TrainerLink | undefined;

  constructor(
    readonly id: string,
    readonly createdAtMs: number,
    private readonly bounds: SessionBounds,
  ) {
    this.lastUpdateMs = createdAtMs;
    this.lastSeenMs = createdAtMs;
    this.series = new SessionSeries({ ...DEFAULT_SERIES_SHARE, ...bounds });
  }

  /** True once the trainer reported COMPLETED or FAILED. */
  get finished(): boolean {
    return isFinished(this.status);
  }

  /** Global step of a batch under the session's config. */
  stepOf(epoch: number, batchIdx: number): bigint {
    return globalStep(epoch, batchIdx, this.config?.batchesPerEpoch ?? 1);
  }

  addEpoch(epoch: EpochData): void {
    this.epochs.push(epoch);
    if (this.epochs.length > MAX_EPOCHS_KEPT) this.epochs.shift();
  }

  /** Adds or replaces (by command id) an audit entry, keeping the newest `commandAuditSize`. */
  recordCommand(entry: CommandAuditEntry): void {
    const index = this.commands.findIndex((existing) => existing.commandId === entry.commandId);
    if (index >= 0) {
      this.commands[index] = entry;
      return;
    }
    this.commands.push(entry);
    if (this.commands.length > this.bounds.commandAuditSize) this.commands.shift();
  }

  /** Adds or replaces (by alert id) an alert, keeping the newest MAX_ALERTS_PER_SESSION. */
  recordAlert(alert: Alert): void {
    const index = this.alerts.findIndex((existing) => existing.alertId === alert.alertId);
    if (index >= 0) {
      this.alerts[index] = alert;
      return;
    }
    this.alerts.push(alert);
    if (this.alerts.length > MAX_ALERTS_PER_SESSION) this.alerts.shift();
  }

  /** Alerts no person has acknowledged yet. */
  get openAlerts(): number {
    let open = 0;
    for (const alert of this.alerts) if (alert.acknowledgedAtMs === 0n) open += 1;
    return open;
  }

  /** The alert settings as dashboards see them (webhook URLs without their secrets). */
  alertSettings(): AlertSettings {
    return create(AlertSettingsSchema, {
      rules: [...this.alertRules],
      webhookUrls: this.webhookUrls.map(redactedWebhookUrl),
      updatedBy: this.alertSettingsBy,
      updatedAtMs: BigInt(this.alertSettingsAtMs),
    });
  }

  /**
   * The session as one line. Lists leave the class names out
   * (`withClassNames: false`): up to 10,000 of them per session would make a
   * page of summaries too large for one message; class_count still says how many.
   */
  toSummary({ withClassNames = true } = {}): SessionSummary {
    const config =
      withClassNames || this.config === undefined
        ? this.config
        : create(TrainingConfigSchema, { ...this.config, classNames: [] });
    return create(SessionSummarySchema, {
      sessionId: this.id,
      name: this.name,
      clientName: this.clientName,
      clientVersion: this.clientVersion,
      config,
      classCount: this.config?.classNames.length ?? 0,
      status: this.status,
      statusMessage: this.statusMessage,
      connection: this.connection,
      createdAtMs: BigInt(this.createdAtMs),
      lastUpdateMs: BigInt(this.lastUpdateMs),
      epoch: this.position?.epoch ?? 0,
      batchIdx: this.position?.batchIdx ?? 0,
      latestLoss: this.latestLoss,
      batchesReceived: this.batchesReceived,
      partialHistory: this.partialHistory,
      historyStartStep: this.historyStartStep ?? 0n,
      writerConflict: this.writerConflict,
      metadata: this.metadata,
      seriesCount: this.series.size,
      openAlerts: this.openAlerts,
    });
  }

  /**
   * What a late joiner needs, as of the current cursor, in one message a
   * default client accepts. When the latest images do not fit beside the
   * rest, latest_images is unset and watchers get the frame as `images`
   * events right after it (see FanOutService.watch).
   */
  toSnapshot(maxBytes = DASHBOARD_MESSAGE_BUDGET_BYTES): SessionSnapshot {
    // The matrix is bounded (MAX_CONFUSION_CELLS); the rest of the snapshot fits beside it.
    const confusion = this.confusion.latest()?.toMessage();
    const confusionBytes =
      confusion === undefined ? 0 : toBinary(ConfusionMatrixSchema, confusion).byteLength + 16;
    // Alerts and rules are bounded (count and text) and always go in: the
    // rest is fitted into what they leave.
    let fixedBytes = 0;
    for (const alert of this.alerts) fixedBytes += 4 + toBinary(AlertSchema, alert).byteLength;
    for (const rule of this.alertRules)
      fixedBytes += 8 + 2 * toBinary(AlertRuleSchema, rule).byteLength;
    for (const url of this.webhookUrls) fixedBytes += 4 + url.length;
    // Custom commands are bounded too (count, arguments, text) and always go in.
    for (const spec of this.customCommands)
      fixedBytes += 4 + toBinary(CustomCommandSpecSchema, spec).byteLength;
    const snapshot = boundedSnapshot(
      {
        summary: this.toSummary(),
        series: this.series,
        epochs: this.epochs,
        latestPerformance: this.latestPerformance,
        latestImages: this.latestImages,
        commands: this.commands,
      },
      maxBytes - confusionBytes - fixedBytes,
    );
    snapshot.confusion = confusion;
    snapshot.confusionEpochs = this.confusion.epochNumbers();
    snapshot.alerts = [...this.alerts];
    snapshot.alertRules = [...this.alertRules];
    snapshot.alertSettings = this.alertSettings();
    snapshot.customCommands = [...this.customCommands];
    return snapshot;
  }
}
