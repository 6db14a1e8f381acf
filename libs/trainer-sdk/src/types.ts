import type { MessageInitShape } from '@bufbuild/protobuf';
import type {
  CommandType,
  ControlCommand,
  ErrorResponse,
  ImageDataSchema,
  ServerConfig,
  TrainingStatus,
} from '@trainwatch/proto';
import type { ReconnectOptions } from './backoff';
import type { DroppedItem } from './outbox';

/** The shape of the run, sent when registering. Class names label predictions on the dashboard. */
export interface TrainingConfigInit {
  totalEpochs: number;
  batchesPerEpoch: number;
  batchSize: number;
  modelName?: string;
  datasetName?: string;
  classNames?: string[];
}

/** Options for {@link TrainingSession.connect}. */
export interface TrainingSessionOptions {
  /** host:port of the server's gRPC listener, e.g. "127.0.0.1:50051". */
  address: string;
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
export type TerminationReason = 'session-taken' | 'replaced';

/** A JPEG sample image: an ImageData message, or a plain object with the same fields. */
export type ImageDataInit = MessageInitShape<typeof ImageDataSchema>;

/** A prediction for one sample image. */
export interface PredictionInit {
  /** Index into the config's classNames. */
  predictedClass: number;
  /** 0..1. */
  confidence: number;
  /** Defaults to classNames[predictedClass] on the dashboard. */
  predictedLabel?: string;
}

/** One training step for {@link TrainingSession.logBatch}. */
export interface BatchLog {
  epoch: number;
  batchIdx: number;
  loss: number;
  /** Samples in the batch; defaults to the config's batchSize. */
  batchSize?: number;
  /** JPEG sample images (see encodeJpeg / TrainingSession.encodeImage). */
  images?: ImageDataInit[];
  /** One per image, same order. */
  predictions?: PredictionInit[];
  /** True class index per image, same order. */
  groundTruth?: number[];
}

/** End-of-epoch summary for {@link TrainingSession.logEpoch}. */
export interface EpochLog {
  epoch: number;
  averageLoss: number;
  /** 0..1. */
  averageAccuracy: number;
}

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

export type { CommandType, TrainingStatus };
