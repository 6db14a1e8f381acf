/**
 * Trainer SDK: stream a training run to a trainwatch server and obey its
 * dashboard's pause, resume and stop. CommonJS, Node >= 20.19; usable from
 * TypeScript and plain JavaScript.
 */
export { TrainingSession, DEFAULT_BUFFER_SIZE, WRITER_CONFLICT_QUIET_MS } from './training-session';
export { RESUME_TOKEN_METADATA } from './connection';
export { ANSWERED_COMMANDS_BOUND } from './command-dispatcher';
export type {
  BatchLog,
  CommandHandler,
  CommandHandlerResult,
  EpochLog,
  ImageDataInit,
  Metrics,
  PredictionInit,
  RunMetadataInit,
  SessionError,
  SessionEvents,
  SessionStats,
  TerminationReason,
  TlsOption,
  TrainingConfigInit,
  TrainingSessionOptions,
} from './types';
export type { GateResult } from './command-gate';
export type {
  ArgumentDeclaration,
  ArgumentDeclarations,
  ArgumentTypeName,
  CustomArguments,
  CustomCommandHandler,
  CustomCommandOptions,
  CustomCommandResult,
} from './custom-commands';
export { DEFAULT_IMAGE_BUDGET_BYTES, type DroppedItem } from './outbox';
export type { HyperparameterInput } from './run-metadata';
export type { AlertRuleInput, AlertRuleName } from './alert-rules';
export { DEFAULT_SYSTEM_INTERVAL_MS } from './system-sampler';
export { NVIDIA_SMI_ARGS, parseNvidiaSmi } from './nvidia-smi';
export { REPORTED_NAMES_BOUND } from './metric-filter';
export { backoffDelay, DEFAULT_RECONNECT, type ReconnectOptions } from './backoff';
export { PERFORMANCE_WINDOW } from './performance-tracker';
export {
  encodeJpeg,
  fitWithin,
  DEFAULT_MAX_IMAGE_DIMENSION,
  type EncodeJpegOptions,
  type RawImage,
} from './encode-jpeg';
export { SDK_VERSION, SUPPORTED_NODE } from './version';
// Re-exported so callers need no direct dependency on the contract package.
export { CommandType, TrainingStatus } from '@trainwatch/proto';
export type { ControlCommand, ErrorResponse, ImageData, ServerConfig } from '@trainwatch/proto';
export { CIFAR10_CLASS_NAMES } from './class-names';
