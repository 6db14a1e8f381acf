import type { AlertRuleInput } from './alert-rules';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type {
  BatchDataSchema,
  CommandType,
  ControlCommand,
  EpochDataSchema,
  ErrorResponse,
  ImageDataSchema,
  PredictionSchema,
  ServerConfig,
  TrainingConfigSchema,
  TrainingStatus,
} from '@trainwatch/proto';
import type { ReconnectOptions } from './backoff';
import type { PlainInit } from './init-shape';
import type { DroppedItem } from './outbox';
import type { RunMetadataInit } from './run-metadata';

type TrainingConfigShape = PlainInit<typeof TrainingConfigSchema>;

/**
 * The shape of the run (TrainingConfig), sent when registering. Class names
 * label predictions on the dashboard.
 */
export type TrainingConfigInit = Required<
  Pick<TrainingConfigShape, 'totalEpochs' | 'batchesPerEpoch' | 'batchSize'>
> &
  Pick<TrainingConfigShape, 'modelName' | 'datasetName' | 'classNames'>;

/** Options for {@link TrainingSession.connect}. */
export interface TrainingSessionOptions {
  /** host:port of the server's gRPC listener, e.g. "127.0.0.1:50051". */
  address: string;
  /**
   * API key for a server with AUTH=required, sent as `authorization: Bearer <key>`.
   * Default: the TRAINWATCH_API_KEY environment variable; none when neither is set.
   */
  apiKey?: string;
  /** Connect over TLS (see TlsOption). Default false (plaintext). */
  tls?: TlsOption;
  /** Session id to use (and resume with); one is generated when omitted. */
  sessionId?: string;
  /** Name shown on the dashboard. Default "trainwatch-node". */
  clientName?: string;
  config: TrainingConfigInit;
  /**
   * Buffer bound in slots (a message takes one, a batch's images one more).
   * Default: the server's buffer_size; 1000 until the server has answered.
   */
  bufferSize?: number;
  /** Encoded image bytes held before the oldest frames lose their images. Default 64 MiB. */
  imageBufferBytes?: number;
  reconnect?: ReconnectOptions;
  /**
   * How long `connect` waits for the first registration before returning
   * anyway (the session keeps trying in the background). Default 5000.
   */
  connectTimeoutMs?: number;
  /** Performance samples are sent every this many batches, or less often (see performanceIntervalMs). Default 10. */
  performanceEveryBatches?: number;
  /** ...and at most once per this many milliseconds. Default 500. */
  performanceIntervalMs?: number;
  /** Called for every problem; never thrown into the training loop. */
  onError?: (error: SessionError) => void;
  /**
   * Hyperparameters, tags and note known at the start (SessionInfo.metadata);
   * change them later with `setMetadata`. Checked here: a bad entry throws.
   */
  metadata?: RunMetadataInit;
  /**
   * Watchdog rules this run wants instead of the server's defaults
   * (SessionInfo.alert_rules), e.g. `[{ rule: 'non_finite', action: 'notify' }]`.
   * Checked here: an unknown rule or action throws.
   */
  alerts?: AlertRuleInput[];
  /**
   * Webhook URLs this run's alerts are posted to besides the server's own
   * (SessionInfo.webhook_urls): http(s), at most 4, each host allowed by the
   * server's WEBHOOK_ALLOWED_HOSTS (the registration is refused otherwise).
   * A JSON body with a Slack-compatible `text`; Slack incoming webhooks work as they are.
   */
  webhooks?: string[];
  /**
   * Sample CPU, memory and GPU figures as `system/` series. Default true.
   */
  systemMetrics?: boolean;
  /** How often system figures are sampled, 1000-2000 ms. Default 1000. */
  systemMetricsIntervalMs?: number;
}

/** Everything that can go wrong without the training loop being at fault. */
export type SessionError =
  /** The server rejected one message (it names the batch when there is one). */
  | { kind: 'server-error'; error: ErrorResponse; message: string }
  /** The connection failed or dropped; the SDK is reconnecting. */
  | { kind: 'connection'; message: string; cause?: unknown }
  /** The buffer was full and something was dropped. */
  | { kind: 'dropped'; item: DroppedItem; message: string }
  /** A command handler threw; the command was reported as failed. */
  | { kind: 'command-handler'; command: ControlCommand; message: string; cause: unknown }
  /** A batch had more images than the server allows; the extra ones were not sent. */
  | { kind: 'images-trimmed'; epoch: number; batchIdx: number; message: string }
  /**
   * A prediction or ground truth named a class index outside config.classNames
   * (a model with more outputs than named classes): the batch's samples were
   * not sent (the server would refuse the whole batch); its scalars were.
   */
  | { kind: 'class-out-of-range'; epoch: number; batchIdx: number; message: string }
  /**
   * A named value (metric, log() value, hyperparameter, tag, note) broke a
   * rule of the contract and was left out; the rest of the message was sent.
   * Reported once per name.
   */
  | { kind: 'invalid-metric'; name: string; message: string }
  /**
   * A command arrived after its deadline (the dashboard had already been told
   * it timed out); it was not applied and was answered as expired.
   */
  | { kind: 'command-expired'; command: ControlCommand; message: string }
  /**
   * Another trainer tried to write this session and was refused; this one
   * goes on. Reported once per burst; `count` is the total so far.
   */
  | { kind: 'writer-conflict'; error: ErrorResponse; count: number; message: string }
  /**
   * The server will not take this session's stream any more: another trainer
   * holds the session (`session-taken`, gRPC ALREADY_EXISTS) or a newer
   * stream with this session's resume token replaced this one (`replaced`,
   * ABORTED). The SDK stops reconnecting; nothing more is delivered.
   */
  | { kind: 'terminated'; reason: TerminationReason; message: string };

/** Why the server ended a session's stream for good (see SessionError 'terminated'). */
export type TerminationReason = 'session-taken' | 'replaced' | 'not-authorized';

/** TLS to the server: true trusts the system's roots; or a CA file and a name to check the certificate for. */
export type TlsOption =
  | boolean
  | {
      /** PEM file of the CA that signed the server's certificate (instead of the system roots). */
      caFile?: string;
      /** Name the certificate must carry when it differs from the host in `address`. */
      serverName?: string;
    };

/** A JPEG sample image: an ImageData message, or a plain object with the same fields. */
export type ImageDataInit = MessageInitShape<typeof ImageDataSchema>;

type PredictionShape = PlainInit<typeof PredictionSchema>;
type BatchDataShape = PlainInit<typeof BatchDataSchema>;
type EpochDataShape = PlainInit<typeof EpochDataSchema>;

/** A prediction for one sample image: predictedClass indexes config.classNames, confidence 0..1. */
export type PredictionInit = Required<Pick<PredictionShape, 'predictedClass' | 'confidence'>> &
  Pick<PredictionShape, 'predictedLabel'>;

/** Named values: series name -> number (NaN and infinities are sent as they are). */
export type Metrics = NonNullable<BatchDataShape['metrics']>;

/** One training step for {@link TrainingSession.logBatch}. */
export type BatchLog = Required<Pick<BatchDataShape, 'epoch' | 'batchIdx'>> &
  Pick<BatchDataShape, 'groundTruth' | 'metrics'> & {
    /** BatchData.batch_loss. */
    loss: number;
    /** Samples in the batch; defaults to the config's batchSize. */
    batchSize?: number;
    /** JPEG sample images (see encodeJpeg / TrainingSession.encodeImage). */
    images?: ImageDataInit[];
    /** One per image, same order. */
    predictions?: PredictionInit[];
  };

/** End-of-epoch summary for {@link TrainingSession.logEpoch}; metrics are epoch series (`val/loss`). */
export type EpochLog = Required<Pick<EpochDataShape, 'epoch' | 'averageLoss'>> &
  Pick<EpochDataShape, 'averageAccuracy' | 'metrics'>;

/** What a command handler may return; a thrown error reports failure. */
export type CommandHandlerResult = void | { success?: boolean; message?: string };

/** A user handler for one command type; may be async. */
export type CommandHandler = (
  command: ControlCommand,
) => CommandHandlerResult | Promise<CommandHandlerResult>;

/** Counters from {@link TrainingSession.stats}. */
export interface SessionStats {
  /** Sequenced messages written (replays included). */
  sent: number;
  /** Sequenced messages acknowledged by the server. */
  acked: number;
  /** Writes that were replays after a reconnect. */
  replayed: number;
  /** Batches whose images were dropped to respect the bound. */
  droppedImageFrames: number;
  /** Whole messages dropped to respect the bound (scalars; reported loudly). */
  droppedMessages: number;
  /** Messages held (unacknowledged or unsent). */
  buffered: number;
  /** Held batches that still carry images. */
  bufferedImageFrames: number;
  /** Slots in use (buffered + bufferedImageFrames) and the bound on them. */
  bufferSlots: number;
  bufferBound: number;
  /** Encoded image bytes held in the buffer. */
  bufferedImageBytes: number;
  /** Heartbeats sent (not sequenced, not buffered). */
  heartbeats: number;
  /** Successful re-registrations after the first. */
  reconnects: number;
  connected: boolean;
  /** Last sequence number assigned. */
  lastSequence: number;
  /** Highest sequence the server acknowledged (sent as SessionInfo.resume_from_sequence). */
  highestAcked: number;
  /** Commands that arrived after their deadline and were not applied. */
  commandsExpired: number;
  /** ERROR_CODE_SESSION_CONFLICT responses: other trainers refused on this session. */
  writerConflicts: number;
  /** Set once the server ended the stream for good (see SessionError 'terminated'). */
  terminated?: string;
}

/** Events of {@link TrainingSession}. */
export interface SessionEvents {
  command: [command: ControlCommand];
  'error-response': [error: ErrorResponse];
  connected: [serverConfig: ServerConfig, resumed: boolean];
  disconnected: [reason: string];
  dropped: [item: DroppedItem];
  status: [status: TrainingStatus, message: string];
  /** The server ended the stream for good; the SDK no longer reconnects. */
  terminated: [reason: TerminationReason, message: string];
}

export type { CommandType, TrainingStatus, RunMetadataInit };
