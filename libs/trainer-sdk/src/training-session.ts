import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  CommandType,
  MetricsRequestSchema,
  SessionInfoSchema,
  TrainingStatus,
  type ImageData,
  type MetricsResponse,
  type ServerConfig,
  type SessionInfo,
  type SessionResponse,
} from '@trainwatch/proto';
import { resolveReconnectOptions } from './backoff';
import { CommandGate, type GateResult } from './command-gate';
import { CommandDispatcher } from './command-dispatcher';
import { fitBatchSamples, type BatchSamples } from './batch-limits';
import { Connection } from './connection';
import {
  DEFAULT_MAX_IMAGE_DIMENSION,
  encodeJpeg,
  type EncodeJpegOptions,
  type RawImage,
} from './encode-jpeg';
import { Outbox, type DroppedItem } from './outbox';
import { CpuMeter, PerformanceTracker } from './performance-tracker';
import type {
  BatchLog,
  CommandHandler,
  EpochLog,
  SessionError,
  SessionEvents,
  SessionStats,
  TrainingSessionOptions,
} from './types';
import { SDK_VERSION } from './version';

/** Buffer bound used until the server's buffer_size is known (the server's own default). */
export const DEFAULT_BUFFER_SIZE = 1000;
/** Message size assumed until the server's max_message_bytes is known. */
const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

function generateSessionId(): string {
  return `run-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

function checkIndex(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be an integer >= 0, got ${String(value)}`);
  }
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
  private readonly connection: Connection;
  private readonly gateState: CommandGate;
  private readonly tracker: PerformanceTracker;
  private readonly cpu = new CpuMeter();
  private readonly commands: CommandDispatcher;
  private readonly flushWaiters = new Set<() => void>();
  private nextSequence = 1n;
  private acked = 0;
  private reconnects = 0;
  private registrations = 0;
  private status = TrainingStatus.UNKNOWN;
  private server: ServerConfig | undefined;
  private lastPerformanceAt = -Infinity;
  private batchesSincePerformance = 0;
  private lastConnectionError = '';
  private dropsToReport = { images: 0, messages: 0 };
  private closing = false;
  private readonly bufferOverride: number | undefined;
  private readonly everyBatches: number;
  private readonly intervalMs: number;

  private constructor(private readonly options: TrainingSessionOptions) {
    super();
    const { config } = options;
    if (!(config.totalEpochs >= 1 && config.batchesPerEpoch >= 1 && config.batchSize >= 1)) {
      throw new RangeError('config.totalEpochs, batchesPerEpoch and batchSize must all be >= 1');
    }
    this.bufferOverride = options.bufferSize;
    this.everyBatches = options.performanceEveryBatches ?? 10;
    this.intervalMs = options.performanceIntervalMs ?? 500;
    this.outbox = new Outbox(options.bufferSize ?? DEFAULT_BUFFER_SIZE, (item) =>
      this.dropped(item),
    );
    this.tracker = new PerformanceTracker(config);
    this.gateState = new CommandGate((ms) => this.tracker.recordPause(ms));
    this.commands = new CommandDispatcher(this.gateState, {
      status: () => this.status,
      received: (command) => this.emit('command', command),
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
      },
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
    checkIndex('epoch', batch.epoch);
    checkIndex('batchIdx', batch.batchIdx);
    if (this.status === TrainingStatus.UNKNOWN || this.status === TrainingStatus.INITIALIZING) {
      this.setStatus(TrainingStatus.RUNNING, 'training');
    }
    const samples = this.fitSamples(batch);
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
        timestampMs: BigInt(Date.now()),
      },
    });
    this.tracker.recordBatch(batch.epoch);
    this.batchesSincePerformance++;
    const done = batch.epoch * this.options.config.batchesPerEpoch + batch.batchIdx + 1;
    const now = performance.now();
    if (
      this.batchesSincePerformance >= this.everyBatches &&
      now - this.lastPerformanceAt >= this.intervalMs
    ) {
      this.sendPerformance(done, now);
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
        averageAccuracy: epoch.averageAccuracy,
      },
    });
    const done = (epoch.epoch + 1) * this.options.config.batchesPerEpoch;
    if (this.tracker.batches > 0) this.sendPerformance(done, performance.now());
  }

  /** Reports a lifecycle change (e.g. FAILED with the exception text). Enqueues; never throws. */
  setStatus(status: TrainingStatus, message = ''): void {
    this.status = status;
    this.enqueue({
      case: 'statusUpdate',
      value: { status, message, timestampMs: BigInt(Date.now()) },
    });
    this.emit('status', status, message);
  }

  /** Adds a handler for one command type; runs before the built-in gate acts. Returns a remover. */
  onCommand(type: CommandType, handler: CommandHandler): () => void {
    return this.commands.add(type, handler);
  }

  /** Encodes raw pixels as JPEG within the server's max_image_dimension (256 until known). */
  encodeImage(image: RawImage, options: Omit<EncodeJpegOptions, 'maxDimension'> = {}): ImageData {
    const maxDimension = this.server?.maxImageDimension || DEFAULT_MAX_IMAGE_DIMENSION;
    return encodeJpeg(image, { ...options, maxDimension });
  }

  /** Resolves true once everything logged so far is acknowledged, false after `timeoutMs`. */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    if (this.outbox.size === 0) return true;
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.flushWaiters.delete(done);
        resolve(true);
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
      this.closing = true;
      const message = options.message ?? (this.stopRequested ? 'stopped on request' : 'finished');
      this.setStatus(options.status ?? TrainingStatus.COMPLETED, message);
      await this.flush(options.flushTimeoutMs ?? 5000);
      await this.connection.close(1000);
    }
    return this.stats();
  }

  /** Delivery counters; cheap enough to call every batch. */
  stats(): SessionStats {
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
      lastSequence: Number(this.nextSequence - 1n),
    };
  }

  private enqueue(payload: MessageInitShape<typeof MetricsRequestSchema>['payload']): void {
    if (this.closing && payload?.case !== 'statusUpdate' && payload?.case !== 'commandResult') {
      return;
    }
    const sequence = this.nextSequence++;
    const request = create(MetricsRequestSchema, {
      sequence,
      timestampMs: BigInt(Date.now()),
      payload,
    });
    this.outbox.push(sequence, request);
    this.connection.pump();
  }

  private fitSamples(batch: BatchLog): BatchSamples {
    const maxImages = this.server?.maxBatchSize;
    const maxMessageBytes = this.server?.maxMessageBytes || DEFAULT_MAX_MESSAGE_BYTES;
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

  private sendPerformance(done: number, now: number): void {
    const figures = this.tracker.figures(done);
    if (figures === undefined) return;
    this.lastPerformanceAt = now;
    this.batchesSincePerformance = 0;
    this.enqueue({
      case: 'performanceData',
      value: {
        ...figures,
        // GPU figures are unknowable from Node, so they stay unset.
        resourceUsage: {
          cpuPercent: this.cpu.sample(),
          memoryBytes: BigInt(process.memoryUsage.rss()),
        },
        timestampMs: BigInt(Date.now()),
      },
    });
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
        datasetName: config.dataSetName ?? '',
        classNames: config.classNames ?? [],
      },
      timestampMs: BigInt(Date.now()),
    });
  }

  private registered(response: SessionResponse): void {
    this.server = response.serverConfig;
    const serverBound = response.serverConfig?.bufferSize ?? 0;
    if (this.bufferOverride === undefined && serverBound > 0) this.outbox.resize(serverBound);
    // Everything unacknowledged goes again, minus what the server already applied.
    this.outbox.requeueAll();
    this.acked += this.outbox.ackThrough(response.lastSequence);
    if (this.registrations++ > 0) this.reconnects++;
    this.lastConnectionError = '';
    this.reportDropsToServer();
    this.emit('connected', response.serverConfig ?? ({} as ServerConfig), response.resumed);
    this.notifyFlushed();
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
        this.report({ kind: 'server-error', error, message: error.message });
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

  private dropped(item: DroppedItem): void {
    this.emit('dropped', item);
    if (item.kind === 'images') {
      this.dropsToReport.images++;
      // Image drops are expected while the server is away: counted, and reported once per outage.
      if (this.dropsToReport.images === 1) {
        this.report({
          kind: 'dropped',
          item,
          message: `buffer full (${this.outbox.capacity} slots): dropping images, oldest first, from batch ${item.epoch}/${item.batchIdx} on; losses are kept`,
        });
      }
      return;
    }
    this.dropsToReport.messages++;
    this.report({
      kind: 'dropped',
      item,
      message: `buffer full (${this.outbox.capacity} slots) with no images left to drop: dropped ${item.payload ?? 'a'} message #${item.sequence}`,
    });
  }

  /** Tells the dashboard, through a status message, what the buffer dropped while offline. */
  private reportDropsToServer(): void {
    const { images, messages } = this.dropsToReport;
    if (images === 0 && messages === 0) return;
    this.dropsToReport = { images: 0, messages: 0 };
    this.setStatus(
      this.status,
      `trainer buffer was full while offline: dropped images of ${images} batches and ${messages} other messages`,
    );
  }

  private notifyFlushed(): void {
    if (this.outbox.size !== 0) return;
    for (const waiter of [...this.flushWaiters]) waiter();
  }

  private report(error: SessionError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing error callback must not break delivery.
    }
  }
}
