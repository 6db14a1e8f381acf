import {
  customCommandsProblem,
  SESSION_ID_PATTERN,
  SESSION_ID_RULE,
  type RunMetadata,
  type SessionInfo,
  type TrainingConfig,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import { validateRules } from '../watchdog/alert-rules';
import {
  MAX_CLASS_NAME_LENGTH,
  MAX_CLASS_NAMES,
  MAX_CLASS_NAMES_BYTES,
  MAX_CLIENT_NAME_LENGTH,
  MAX_CLIENT_VERSION_LENGTH,
  MAX_DISPLAY_NAME_LENGTH,
} from '../common/limits';
import { runMetadataProblem } from './run-metadata';

/** Throws INVALID_ARGUMENT naming the field unless `sessionId` is a valid client-chosen id. */
export function validateSessionId(sessionId: string): void {
  if (!SESSION_ID_PATTERN.test(sessionId)) {
    throw errors.invalidArgument(
      `session_id ${JSON.stringify(sessionId.slice(0, 160))} is invalid: use ${SESSION_ID_RULE}, or leave it empty`,
    );
  }
}

/** Throws INVALID_ARGUMENT naming the first bad field of a training config. */
export function validateTrainingConfig(
  config: TrainingConfig | undefined,
  field = 'config',
): TrainingConfig {
  if (config === undefined) throw errors.invalidArgument(`${field} is required`);
  const positive: [string, number][] = [
    ['total_epochs', config.totalEpochs],
    ['batches_per_epoch', config.batchesPerEpoch],
    ['batch_size', config.batchSize],
  ];
  for (const [name, value] of positive) {
    if (value < 1) throw errors.invalidArgument(`${field}.${name} must be >= 1, got ${value}`);
  }
  const names: [string, string][] = [
    ['model_name', config.modelName],
    ['dataset_name', config.datasetName],
  ];
  for (const [name, value] of names) {
    if (value.length > MAX_DISPLAY_NAME_LENGTH) {
      throw errors.invalidArgument(
        `${field}.${name} is longer than ${MAX_DISPLAY_NAME_LENGTH} characters`,
      );
    }
  }
  if (config.classNames.length > MAX_CLASS_NAMES) {
    throw errors.invalidArgument(
      `${field}.class_names has ${config.classNames.length} entries; at most ${MAX_CLASS_NAMES} are allowed`,
    );
  }
  const long = config.classNames.findIndex((name) => name.length > MAX_CLASS_NAME_LENGTH);
  if (long >= 0) {
    throw errors.invalidArgument(
      `${field}.class_names[${long}] is longer than ${MAX_CLASS_NAME_LENGTH} characters`,
    );
  }
  const bytes = config.classNames.reduce((sum, name) => sum + Buffer.byteLength(name, 'utf8'), 0);
  if (bytes > MAX_CLASS_NAMES_BYTES) {
    throw errors.invalidArgument(
      `${field}.class_names take ${bytes} bytes as UTF-8; at most ${MAX_CLASS_NAMES_BYTES} are allowed (so every snapshot fits in one message)`,
    );
  }
  return config;
}

/**
 * Validates a registration; returns nothing, throws INVALID_ARGUMENT on the
 * first problem. `current` is the metadata of the session it re-registers,
 * which SessionInfo.metadata merges into.
 */
export function validateSessionInfo(info: SessionInfo, current?: RunMetadata): void {
  if (info.sessionId !== '') validateSessionId(info.sessionId);
  if (info.clientName.length > MAX_CLIENT_NAME_LENGTH) {
    throw errors.invalidArgument(`client_name is longer than ${MAX_CLIENT_NAME_LENGTH} characters`);
  }
  if (info.clientVersion.length > MAX_CLIENT_VERSION_LENGTH) {
    throw errors.invalidArgument(
      `client_version is longer than ${MAX_CLIENT_VERSION_LENGTH} characters`,
    );
  }
  validateTrainingConfig(info.config);
  validateRules(info.alertRules, 'alert_rules');
  const commandProblem = customCommandsProblem(info.customCommands);
  if (commandProblem !== undefined) throw errors.invalidArgument(commandProblem);
  if (info.metadata !== undefined) {
    const problem = runMetadataProblem(info.metadata, current);
    if (problem !== undefined) throw errors.invalidArgument(`metadata: ${problem}`);
  }
}
