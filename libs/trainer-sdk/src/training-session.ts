import { toAlertRules } from './alert-rules';
import { toWebhookUrls } from './webhook-urls';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  CommandType,
  ErrorCode,
  MetricsRequestSchema,
  SESSION_ID_PATTERN,
  SESSION_ID_RULE,
  CustomCommandSetSchema,
  SessionInfoSchema,
  TrainingStatus,
  globalStep,
  isFinished,
  type ImageData,
  type MetricsResponse,
  type ErrorResponse,
  type ServerConfig,
  type AlertRule,
  type CustomCommandSpec,
  type SessionInfo,
  type SessionResponse,
} from '@trainwatch/proto';
import { resolveReconnectOptions } from './backoff';
import { CommandGate, type GateResult } from './command-gate';
import { CommandDispatcher } from './command-dispatcher';
import type {
  ArgumentDeclarations,
  CustomCommandHandler,
  CustomCommandOptions,
} from './custom-commands';
import { fitBatchSamples, type BatchSamples } from './batch-limits';
import { Connection, connectionSecurity } from './connection';
import {
  DEFAULT_MAX_IMAGE_DIMENSION,
  encodeJpeg,
  type EncodeJpegOptions,
  type RawImage,
} from './encode-jpeg';
import { DeferredCalls } from './deferred-calls';
import { Outbox, type DroppedItem } from './outbox';
import { MetricFilter } from './metric-filter';
import { RunMetadataState, type RunMetadataInit } from './run-metadata';
import {
  DEFAULT_SYSTEM_INTERVAL_MS,
  MAX_SYSTEM_INTERVAL_MS,
  MIN_SYSTEM_INTERVAL_MS,
  SystemSampler,
} from './system-sampler';
import { PerformanceSampler } from './performance-sampler';
import { DropReporter } from './drop-reporter';
import type {
  BatchLog,
  CommandHandler,
  EpochLog,
  Metrics,
  SessionError,
  SessionEvents,
  SessionStats,
  TerminationReason,
  TrainingSessionOptions,
} from './types';
import { SDK_VERSION } from './version';

/**
 * logBatch calls whose work may wait for the drain ticker (DRAIN_INTERVAL_MS);
 * a loop that logs more without yielding pays for the waiting ones on its
 * next call.
 */
const LOG_CALLS_DEFERRED = 64;

/*
 * The statuses logBatch compares with, read once: an enum read through the
 * contract package's re-exports is a getter call, which a call that must cost
 * a few microseconds cannot afford twice.
 */
const STATUS_UNKNOWN = TrainingStatus.UNKNOWN;
const STATUS_INITIALIZING = TrainingStatus.INITIALIZING;

/** Buffer bound used until the server's buffer_size is known (the server's own default). */
export const DEFAULT_BUFFER_SIZE = 1000;
/** Message size assumed until the server's max_message_bytes is known. */
const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * Writer conflicts closer together than this are one burst, reported once:
 * a misconfigured second trainer retries every few hundred milliseconds.
 */
export const WRITER_CONFLICT_QUIET_MS = 10_000;

function generateSessionId(): string {
  return `run-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Rejects, before anything is sent, what the server would refuse at registration. */
function checkOptions(options: TrainingSessionOptions): void {
  const { config } = options;
  for (const field of ['totalEpochs', 'batchesPerEpoch', 'batchSize'] as const) {
    const value = config[field];
    if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) {
      throw new RangeError(`config.${field} must be an integer >= 1, got ${String(value)}`);
    }
  }
  if (options.sessionId !== undefined && !SESSION_ID_PATTERN.test(options.sessionId)) {
    throw new RangeError(
      `sessionId must be ${SESSION_ID_RULE}, got ${JSON.stringify(options.sessionId)}`,
    );
  }
  if ((options.clientName ?? '').length > 128) {
    throw new RangeError('clientName must be at most 128 characters');
  }
  if (
    options.bufferSize !== undefined &&
    !(Number.isInteger(options.bufferSize) && options.bufferSize >= 1)
  ) {
    throw new RangeError(`bufferSize must be an integer >= 1, got ${String(options.bufferSize)}`);
  }
  const interval = options.systemMetricsIntervalMs;
  if (
    interval !== undefined &&
    !(
      Number.isFinite(interval) &&
      interval >= MIN_SYSTEM_INTERVAL_MS &&
      interval <= MAX_SYSTEM_INTERVAL_MS
    )
  ) {
    throw new RangeError(
      `systemMetricsIntervalMs must be ${MIN_SYSTEM_INTERVAL_MS}-${MAX_SYSTEM_INTERVAL_MS}, got ${String(interval)}`,
    );
  }
}

function checkIndex(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be an integer >= 0, got ${String(value)}`);
  }
}

/** logBatch's indexes, checked in full (logBatch itself only tells the usual ones apart). */
function checkIndexes(epoch: number, batchIdx: number): void {
  checkIndex('epoch', epoch);
  checkIndex('batchIdx', batchIdx);
}

/**
 * One training run streamed to a trainwatch server. Create it with
 * {@link TrainingSession.connect}; call `logBatch`/`logEpoch`/`setStatus`
 * from the loop (they enqueue and return at once, whatever the network does),
 * `await gate()` between batches to obey pause/resume/stop, and `close()` at
 * the end.
 */
export class TrainingSession extends EventEmitter<SessionEvents> {
  private readonly outbox: Outbox;
  /** logBatch work not done yet (at most LOG_CALLS_DEFERRED; it runs within DRAIN_INTERVAL_MS of the call). */
  private readonly deferred = new DeferredCalls<BatchLog>(
    LOG_CALLS_DEFERRED,
    (batch, loggedAt) => this.enqueueBatch(batch, loggedAt),
    (cause) =>
      this.report({
        kind: 'dropped',
        item: { kind: 'message', logIndex: -1, sequence: 0n, payload: 'batchData' },
        message: `a logged batch could not be turned into a message and was not sent: ${String(cause)}`,
      }),
  );
  private readonly connection: Connection;
  private readonly gateState: CommandGate;
  private readonly sampler: PerformanceSampler;
  private readonly drops: DropReporter;
  private readonly commands: CommandDispatcher;
  private readonly metrics: MetricFilter;
  private readonly metadata = new RunMetadataState();
  /** The `alerts` option, checked and converted once (a bad entry throws in the constructor). */
  private readonly alertRules: AlertRule[];
  /** The `webhooks` option, checked once (a bad entry throws in the constructor). */
  private readonly webhookUrls: string[];
  private readonly system: SystemSampler | undefined;
  /**
   * Epoch and index of the latest batch whose deferred work ran (its global
   * step is computed when needed, off logBatch's path; see step).
   */
  private latestEpoch = 0;
  private latestBatchIdx = 0;
  private classProblemsReported = 0;
  private readonly flushWaiters = new Set<(flushed: boolean) => void>();
  private acked = 0;
  private reconnects = 0;
  private registrations = 0;
  private status = TrainingStatus.UNKNOWN;
  private statusMessage = '';
  private commandsExpired = 0;
  private writerConflicts = 0;
  private lastWriterConflictMs = -Infinity;
  private server: ServerConfig | undefined;
  private lastConnectionError = '';
  private closing = false;
  private readonly bufferOverride: number | undefined;
  /** The custom commands the latest registration carried (see advertisedForm). */
  private advertised = '';

  private constructor(private readonly options: TrainingSessionOptions) {
    super();
    checkOptions(options);
    this.alertRules = toAlertRules(options.alerts);
    this.webhookUrls = toWebhookUrls(options.webhooks);
    const { config } = options;
    const initial = this.metadata.update(options.metadata ?? {});
    if (initial.problems.length > 0) {
      throw new RangeError(`metadata: ${initial.problems.join('; ')}`);
    }
    this.metrics = new MetricFilter(({ name, message }) =>
      this.report({ kind: 'invalid-metric', name, message }),
    );
    if (options.systemMetrics !== false) {
      this.system = new SystemSampler(
        options.systemMetricsIntervalMs ?? DEFAULT_SYSTEM_INTERVAL_MS,
        (values) => this.logScalars(values, this.step, 'system sample'),
      );
    }
    this.bufferOverride = options.bufferSize;
    this.drops = new DropReporter(
      () => this.outbox.capacity,
      (error) => this.report(error),
    );
    this.outbox = new Outbox(
      options.bufferSize ?? DEFAULT_BUFFER_SIZE,
      (item) => this.dropped(item),
      options.imageBufferBytes,
    );
    this.sampler = new PerformanceSampler(config, {
      everyBatches: options.performanceEveryBatches ?? 10,
      intervalMs: options.performanceIntervalMs ?? 500,
    });
    this.gateState = new CommandGate((ms) => this.sampler.tracker.recordPause(ms));
    this.commands = new CommandDispatcher(this.gateState, {
      status: () => this.status,
      received: (command) => this.emit('command', command),
      expired: (command, message) => {
        this.commandsExpired++;
        this.report({ kind: 'command-expired', command, message });
      },
      setStatus: (status, message) => this.setStatus(status, message),
      answer: (outcome) => this.enqueue({ case: 'commandResult', value: outcome }),
      report: (error) => this.report(error),
    });
    this.connection = new Connection(
      options.address,
      options.sessionId ?? generateSessionId(),
      this.outbox,
      resolveReconnectOptions(options.reconnect),
      {
        sessionInfo: () => this.sessionInfo(),
        onRegistered: (response) => this.registered(response),
        onResponse: (response) => this.received(response),
        onDisconnected: (reason, cause) => this.disconnected(reason, cause),
        onTerminated: (reason, message) => this.onTerminated(reason, message),
      },
      connectionSecurity(options.tls, options.apiKey),
    );
  }

  /**
   * Creates a session and starts registering in the background. Resolves once
   * the server has answered, or after `connectTimeoutMs` (default 5000) if it
   * has not: the session then keeps trying with backoff and buffers what is
   * logged meanwhile. Never rejects because the server is unreachable.
   * @throws RangeError for an invalid config or option
   */
  static async connect(options: TrainingSessionOptions): Promise<TrainingSession> {
    const session = new TrainingSession(options);
    session.setStatus(TrainingStatus.INITIALIZING, 'connecting');
    const registered = new Promise<void>((resolve) => session.once('connected', () => resolve()));
    session.connection.start();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.connectTimeoutMs ?? 5000);
    });
    await Promise.race([registered, timeout]);
    clearTimeout(timer);
    // The training loop starts now; connecting is not part of its first batch.
    session.sampler.tracker.restart();
    session.system?.start();
    return session;
  }

  /** The id of this session on the server. */
  get sessionId(): string {
    return this.connection.sessionId;
  }

  /** The server's limits, once it has answered. */
  get serverConfig(): ServerConfig | undefined {
    return this.server;
  }

  /** True once STOP arrived; a loop that does not await `gate()` can poll this. */
  get stopRequested(): boolean {
    return this.gateState.stopRequested;
  }

  /**
   * Why the server ended this session's stream for good (another trainer
   * holds the session, or a newer stream replaced this one); undefined while
   * the session may still deliver.
   */
  get terminated(): string | undefined {
    return this.connection.terminated;
  }

  /** True while paused by a PAUSE command. */
  get paused(): boolean {
    return this.gateState.paused;
  }

  /** Await between batches: resolves at once while running, waits while paused, 'stop' after STOP. */
  gate(): Promise<GateResult> {
    return this.gateState.wait();
  }

  /**
   * Records one training step. Synchronous and O(1): it enqueues and
   * returns; delivery, replay and performance figures happen in the background.
   * @throws TypeError only for a malformed epoch or batch index (a bug in the caller)
   */
  logBatch(batch: BatchLog): void {
    const { epoch, batchIdx } = batch;
    // One comparison each for any usual index (an integer below 2^32); the rest gets the full check.
    if (epoch >>> 0 !== epoch || batchIdx >>> 0 !== batchIdx) checkIndexes(epoch, batchIdx);
    const status = this.status;
    if (status === STATUS_UNKNOWN || status === STATUS_INITIALIZING) {
      this.setStatus(TrainingStatus.RUNNING, 'training');
    }
    // One clock read: the batch's time for the performance figures and, from it, its wall time.
    // The rest (the latest step, timing, limits, the request, the outbox) runs within
    // DRAIN_INTERVAL_MS of this call, in call order.
    this.deferred.defer(batch, performance.now());
  }

  /** Global step of the latest batch: the default step of log() and system samples. */
  private get step(): bigint {
    // The latest batch is the latest logged, not the latest the drain ticker got to.
    this.deferred.drain();
    return globalStep(this.latestEpoch, this.latestBatchIdx, this.options.config.batchesPerEpoch);
  }

  private enqueueBatch(batch: BatchLog, loggedAt: number): void {
    this.latestEpoch = batch.epoch;
    this.latestBatchIdx = batch.batchIdx;
    const timed = this.sampler.recordBatch(batch.epoch, loggedAt);
    const loggedAtMs = Math.round(performance.timeOrigin + loggedAt);
    const samples = this.fitSamples(batch);
    const metrics = this.metrics.filter(batch.metrics, `logBatch ${batch.epoch}/${batch.batchIdx}`);
    this.enqueue({
      case: 'batchData',
      value: {
        epoch: batch.epoch,
        batchIdx: batch.batchIdx,
        batchSize: batch.batchSize ?? this.options.config.batchSize,
        images: samples.images,
        predictions: samples.predictions,
        groundTruth: samples.groundTruth,
        batchLoss: batch.loss,
        timestampMs: BigInt(loggedAtMs),
        metrics,
      },
    });
    if (timed) {
      this.sendPerformance(batch.epoch * this.options.config.batchesPerEpoch + batch.batchIdx + 1);
    }
  }

  /** Records an epoch summary (and a fresh performance sample). Same guarantees as logBatch. */
  logEpoch(epoch: EpochLog): void {
    checkIndex('epoch', epoch.epoch);
    this.enqueue({
      case: 'epochData',
      value: {
        epoch: epoch.epoch,
        averageLoss: epoch.averageLoss,
        averageAccuracy: epoch.averageAccuracy ?? 0,
        metrics: this.metrics.filter(epoch.metrics, `logEpoch ${epoch.epoch}`),
      },
    });
    const done = (epoch.epoch + 1) * this.options.config.batchesPerEpoch;
    this.sendPerformance(done);
  }

  /**
   * Logs named values at a step, like wandb.log: `run.log({ lr: 0.01,
   * 'train/acc': 0.91 })`. The step defaults to the global step of the latest
   * batch. Same guarantees as logBatch: enqueues and returns; a value that
   * breaks a rule (name, count, series bound) is left out and reported to
   * onError, never thrown.
   */
  log(values: Metrics, options: { step?: number | bigint } = {}): void {
    let step = this.step;
    if (options.step !== undefined) {
      const given = options.step;
      if (typeof given === 'bigint' ? given >= 0n : Number.isInteger(given) && given >= 0) {
        step = BigInt(given);
      } else {
        this.report({
          kind: 'invalid-metric',
          name: 'step',
          message: `log: step must be an integer >= 0, got ${String(given)}; used the latest batch's step ${step}`,
        });
      }
    }
    this.logScalars(values, step, 'log');
  }

  /**
   * Changes hyperparameters, tags or note during the run (RunMetadata): a
   * hyperparameter sent again replaces its value; tags are added (or replace
   * the run's with `replaceTags`); a note replaces the note. An entry that
   * breaks a rule is left out and reported to onError; the rest is sent.
   */
  setMetadata(update: RunMetadataInit): void {
    const { message, problems } = this.metadata.update(update);
    for (const problem of problems) {
      this.report({ kind: 'invalid-metric', name: 'metadata', message: `setMetadata: ${problem}` });
    }
    this.enqueue({ case: 'runMetadata', value: message });
  }

  /** Reports a lifecycle change (e.g. FAILED with the exception text). Enqueues; never throws. */
  setStatus(status: TrainingStatus, message = ''): void {
    this.status = status;
    this.statusMessage = message;
    this.enqueue({
      case: 'statusUpdate',
      value: { status, message, timestampMs: BigInt(Date.now()) },
    });
    this.emit('status', status, message);
  }

  /**
   * Adds a handler; returns a function that removes it.
   *
   * With a command type: runs before the built-in gate acts on PAUSE, RESUME or STOP.
   *
   * With a name and typed arguments, offers a custom command the dashboard
   * draws a form for, e.g. `onCommand('set_lr', { lr: 'number' }, ({ lr }) =>
   * ...)`. The handler may be async; what it returns (a string, or `{ success,
   * message }`) is the result the dashboard shows, and a throw reports the
   * command FAILED. Commands are advertised at registration; one added (or
   * removed) later registers the session again so the server knows.
   * @throws RangeError for a name or argument that breaks the custom command
   * rules (see CUSTOM_COMMAND_NAME_PATTERN), or one name twice
   */
  onCommand(type: CommandType, handler: CommandHandler): () => void;
  onCommand<A extends ArgumentDeclarations>(
    name: string,
    args: A,
    handler: CustomCommandHandler<A>,
    options?: CustomCommandOptions,
  ): () => void;
  onCommand<A extends ArgumentDeclarations>(
    typeOrName: CommandType | string,
    handlerOrArgs: CommandHandler | A,
    customHandler?: CustomCommandHandler<A>,
    options?: CustomCommandOptions,
  ): () => void {
    if (typeof typeOrName === 'number') {
      return this.commands.add(typeOrName, handlerOrArgs as CommandHandler);
    }
    if (customHandler === undefined) {
      throw new TypeError(`custom command ${typeOrName}: a handler is required`);
    }
    const remove = this.commands.custom.add(typeOrName, handlerOrArgs as A, customHandler, options);
    this.advertiseCommands();
    return () => {
      remove();
      this.advertiseCommands();
    };
  }

  /** Registers again when the server may not know the current set of custom commands. */
  private advertiseCommands(): void {
    // Until the first registration is answered, registered() calls this again.
    if (this.registrations === 0 || this.closing) return;
    if (advertisedForm(this.commands.custom.specs()) === this.advertised) return;
    void this.connection.refreshRegistration().catch((cause: unknown) => {
      // Not known to have arrived: the next change or registration sends it again.
      this.advertised = 'unknown';
      this.report({
        kind: 'connection',
        message: `could not advertise custom commands (they go with the next registration): ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      });
    });
  }

  /** Encodes raw pixels as JPEG within the server's max_image_dimension (256 until known). */
  encodeImage(image: RawImage, options: Omit<EncodeJpegOptions, 'maxDimension'> = {}): ImageData {
    const maxDimension = this.server?.maxImageDimension || DEFAULT_MAX_IMAGE_DIMENSION;
    return encodeJpeg(image, { ...options, maxDimension });
  }

  /**
   * Resolves true once everything logged so far is acknowledged, false after
   * `timeoutMs` or at once when the session was terminated.
   */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    // After the server ended the session for good nothing more is delivered.
    if (this.terminated !== undefined) return false;
    this.deferred.drain();
    if (this.outbox.size === 0) return true;
    return new Promise<boolean>((resolve) => {
      const done = (flushed: boolean) => {
        clearTimeout(timer);
        this.flushWaiters.delete(done);
        resolve(flushed);
      };
      const timer = setTimeout(() => {
        this.flushWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      this.flushWaiters.add(done);
    });
  }

  /**
   * Reports the final status (COMPLETED by default), waits up to
   * `flushTimeoutMs` for acknowledgements, and closes the stream.
   * Resolves with the final stats; `stats().buffered > 0` means some messages
   * were never acknowledged.
   */
  async close(
    options: { status?: TrainingStatus; message?: string; flushTimeoutMs?: number } = {},
  ): Promise<SessionStats> {
    if (!this.closing) {
      // Batches logged before close() are sent before the final status.
      this.deferred.drain();
      this.closing = true;
      const message = options.message ?? (this.stopRequested ? 'stopped on request' : 'finished');
      this.system?.stop();
      this.setStatus(options.status ?? TrainingStatus.COMPLETED, message);
      await this.flush(options.flushTimeoutMs ?? 5000);
      this.deferred.stop();
      await this.connection.close(1000);
    }
    return this.stats();
  }

  /** Delivery counters; cheap enough to call every batch. */
  stats(): SessionStats {
    // What was logged so far counts as buffered or dropped as if it had been enqueued at once.
    this.deferred.drain();
    const dropped = this.outbox.dropped;
    return {
      sent: this.connection.counters.sent,
      acked: this.acked,
      replayed: this.connection.counters.replayed,
      droppedImageFrames: dropped.droppedImageFrames,
      droppedMessages: dropped.droppedMessages,
      buffered: this.outbox.size,
      bufferedImageFrames: this.outbox.imageFrames,
      bufferSlots: this.outbox.slotsInUse,
      bufferBound: this.outbox.capacity,
      bufferedImageBytes: this.outbox.imageBytes,
      heartbeats: this.connection.counters.heartbeats,
      reconnects: this.reconnects,
      connected: this.connection.connected,
      lastSequence: Number(this.outbox.lastSequence),
      highestAcked: Number(this.outbox.highestAcked),
      commandsExpired: this.commandsExpired,
      writerConflicts: this.writerConflicts,
      terminated: this.terminated,
    };
  }

  private enqueue(payload: MessageInitShape<typeof MetricsRequestSchema>['payload']): void {
    if (this.closing && payload?.case !== 'statusUpdate' && payload?.case !== 'commandResult') {
      return;
    }
    // Nothing can be delivered any more; holding it would only fill the buffer.
    if (this.terminated !== undefined) return;
    // Batches logged before this message go out before it.
    this.deferred.drain();
    // Numbered when first written (see Outbox): 0 until then.
    const request = create(MetricsRequestSchema, { timestampMs: BigInt(Date.now()), payload });
    this.outbox.push(request);
    this.connection.schedulePump();
  }

  private logScalars(values: Metrics, step: bigint, where: string): void {
    const kept = this.metrics.filter(values, where);
    if (Object.keys(kept).length === 0) return;
    this.enqueue({
      case: 'scalars',
      value: { step, values: kept, timestampMs: BigInt(Date.now()) },
    });
  }

  /**
   * Leaves out the samples of a batch that name a class index outside
   * config.classNames: the server refuses such a batch whole (its loss too).
   * Reported for the first few batches, then counted in the message.
   */
  private classesInRange(batch: BatchLog): boolean {
    const classes = this.options.config.classNames?.length ?? 0;
    if (classes === 0) return true;
    const outside = (index: number) => !Number.isInteger(index) || index < 0 || index >= classes;
    const bad =
      (batch.predictions ?? []).find((p) => outside(p.predictedClass))?.predictedClass ??
      (batch.groundTruth ?? []).find(outside);
    if (bad === undefined) return true;
    this.classProblemsReported++;
    this.report({
      kind: 'class-out-of-range',
      epoch: batch.epoch,
      batchIdx: batch.batchIdx,
      message: `batch ${batch.epoch}/${batch.batchIdx}: class index ${bad} is outside config.classNames (${classes} classes); its images were not sent, its loss and metrics were (${this.classProblemsReported} batches so far)`,
    });
    return false;
  }

  private fitSamples(batch: BatchLog): BatchSamples {
    const maxImages = this.server?.maxBatchSize;
    const maxMessageBytes = this.server?.maxMessageBytes || DEFAULT_MAX_MESSAGE_BYTES;
    if (!this.classesInRange(batch)) return { images: [], predictions: [], groundTruth: [] };
    const logged = {
      images: batch.images ?? [],
      predictions: batch.predictions ?? [],
      groundTruth: batch.groundTruth ?? [],
    };
    const fitted = fitBatchSamples(logged, { maxImages, maxMessageBytes });
    if (fitted.trimmed) {
      this.report({
        kind: 'images-trimmed',
        epoch: batch.epoch,
        batchIdx: batch.batchIdx,
        message: `batch ${batch.epoch}/${batch.batchIdx}: sent ${fitted.images.length} of ${logged.images.length} images and ${fitted.predictions.length} of ${logged.predictions.length} predictions (server allows ${maxImages ?? '?'} per batch and ${maxMessageBytes} bytes per message)`,
      });
    }
    return fitted;
  }

  private sendPerformance(done: number): void {
    const sample = this.sampler.sample(done);
    if (sample !== undefined) this.enqueue({ case: 'performanceData', value: sample });
  }

  private sessionInfo(): SessionInfo {
    const { config } = this.options;
    return create(SessionInfoSchema, {
      sessionId: this.connection.sessionId,
      clientName: this.options.clientName ?? 'trainwatch-node',
      clientVersion: SDK_VERSION,
      config: {
        totalEpochs: config.totalEpochs,
        batchesPerEpoch: config.batchesPerEpoch,
        batchSize: config.batchSize,
        modelName: config.modelName ?? '',
        datasetName: config.datasetName ?? '',
        classNames: config.classNames ?? [],
      },
      timestampMs: BigInt(Date.now()),
      resumeToken: this.connection.resumeToken,
      resumeFromSequence: this.outbox.highestAcked,
      // All of it: a restarted server learns the run's metadata again.
      metadata: this.metadata.merged(),
      alertRules: this.alertRules,
      webhookUrls: this.webhookUrls,
      customCommands: this.advertise(this.commands.custom.specs()),
    });
  }

  /** Remembers what a registration carries, so a later change is known to need another. */
  private advertise(specs: CustomCommandSpec[]): CustomCommandSpec[] {
    this.advertised = advertisedForm(specs);
    return specs;
  }

  private registered(response: SessionResponse): void {
    this.server = response.serverConfig;
    this.metrics.setLimits(
      response.serverConfig?.maxSeries,
      response.serverConfig?.maxMetricsPerMessage,
    );
    const serverBound = response.serverConfig?.bufferSize ?? 0;
    if (this.bufferOverride === undefined && serverBound > 0) this.outbox.resize(serverBound);
    // Everything unacknowledged goes again, minus what the server already applied.
    this.acked += this.outbox.resume(response.lastSequence);
    const reRegistered = this.registrations++ > 0;
    if (reRegistered) this.reconnects++;
    this.lastConnectionError = '';
    if (reRegistered) this.resendStatus();
    else this.reportDropsToServer();
    this.emit('connected', response.serverConfig ?? ({} as ServerConfig), response.resumed);
    // A handler added while this registration was in flight is not in it yet;
    // the stream opens right after this returns, then the refresh can go.
    setImmediate(() => this.advertiseCommands());
    this.notifyFlushed();
  }

  /**
   * After a re-registration the server may be a new one that knows only the
   * session id (it shows INITIALIZING) and gets only what was unacknowledged:
   * tell it the current status and config again. It is sequenced after the
   * replayed messages, so it is the last word the server applies, whatever
   * older status the replay carries.
   */
  private resendStatus(): void {
    if (this.status === TrainingStatus.UNKNOWN || isFinished(this.status)) {
      // Nothing to say yet; a final status is already buffered or acknowledged.
      this.reportDropsToServer();
      return;
    }
    const message = this.drops.takeSummary() ?? this.statusMessage;
    this.statusMessage = message;
    const { config } = this.options;
    this.enqueue({
      case: 'statusUpdate',
      value: {
        status: this.status,
        message,
        config: {
          totalEpochs: config.totalEpochs,
          batchesPerEpoch: config.batchesPerEpoch,
          batchSize: config.batchSize,
          modelName: config.modelName ?? '',
          datasetName: config.datasetName ?? '',
          classNames: config.classNames ?? [],
        },
        timestampMs: BigInt(Date.now()),
      },
    });
  }

  private received(response: MetricsResponse): void {
    const payload = response.payload;
    switch (payload.case) {
      case 'ack':
        if (this.outbox.ack(payload.value.sequence)) this.acked++;
        this.notifyFlushed();
        break;
      case 'command':
        void this.commands.dispatch(payload.value);
        break;
      case 'error': {
        const error = payload.value;
        this.emit('error-response', error);
        if (error.code === ErrorCode.SESSION_CONFLICT) this.writerConflict(error);
        else this.report({ kind: 'server-error', error, message: error.message });
        break;
      }
      case undefined:
        break;
    }
  }

  private disconnected(reason: string, cause?: unknown): void {
    this.emit('disconnected', reason);
    // A server that stays away fails the same way on every retry: say it once.
    if (reason !== this.lastConnectionError) {
      this.lastConnectionError = reason;
      this.report({ kind: 'connection', message: reason, cause });
    }
  }

  /** Another trainer was refused on this session: counted always, reported once per burst. */
  private writerConflict(error: ErrorResponse): void {
    this.writerConflicts++;
    const now = Date.now();
    const quiet = now - this.lastWriterConflictMs > WRITER_CONFLICT_QUIET_MS;
    this.lastWriterConflictMs = now;
    if (!quiet) return;
    this.report({
      kind: 'writer-conflict',
      error,
      count: this.writerConflicts,
      message: `another trainer tried to write session ${this.sessionId} and was refused: ${error.message}`,
    });
  }

  private onTerminated(reason: TerminationReason, message: string): void {
    this.report({ kind: 'terminated', reason, message });
    this.emit('terminated', reason, message);
    // Whoever waits for acknowledgements will not get them.
    for (const waiter of [...this.flushWaiters]) waiter(false);
  }

  private dropped(item: DroppedItem): void {
    this.emit('dropped', item);
    this.drops.dropped(item);
  }

  /** Tells the dashboard, through a status message, what the buffer dropped while offline. */
  private reportDropsToServer(): void {
    const summary = this.drops.takeSummary();
    if (summary !== undefined) this.setStatus(this.status, summary);
  }

  private notifyFlushed(): void {
    if (this.outbox.size !== 0) return;
    for (const waiter of [...this.flushWaiters]) waiter(true);
  }

  private report(error: SessionError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing error callback must not break delivery.
    }
  }
}

/** A set of custom commands as comparable text. */
function advertisedForm(specs: CustomCommandSpec[]): string {
  return Buffer.from(
    toBinary(CustomCommandSetSchema, create(CustomCommandSetSchema, { commands: specs })),
  ).toString('base64');
}
