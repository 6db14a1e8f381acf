/**
 * Rules derived from the contract, written once and imported by the server,
 * the trainer SDK and the web app. The Python client carries the same values
 * in `trainwatch/rules.py`, checked against `rulesForOtherLanguages()` by its
 * tests. Change a value here and there together.
 */
import { TrainingStatus } from './gen/telemetry/v1/telemetry_pb';
import type { WatchSessionResponse } from './gen/telemetry/v1/dashboard_pb';

/** A client-chosen session id: 1-128 characters from [A-Za-z0-9._:-]. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const SESSION_ID_RULE = '1-128 characters from [A-Za-z0-9._:-]';

/**
 * A series (metric) or hyperparameter name: starts with a letter or digit,
 * then letters, digits and `_ . / -`; `/` groups series (`val/loss`).
 */
export const SERIES_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$/;
export const MAX_SERIES_NAME_LENGTH = 128;
export const SERIES_NAME_RULE =
  '1-128 characters from [A-Za-z0-9_./-], starting with a letter or digit';

/** The series fed by BatchData.batch_loss; no metrics map may name it. */
export const LOSS_SERIES = 'loss';
/** Prefix of the series the SDKs sample from the machine (CPU, memory, GPU). */
export const SYSTEM_SERIES_PREFIX = 'system/';

/** Distinct series one session may have, unless the server is configured otherwise. */
export const DEFAULT_MAX_SERIES = 1000;
/** Named values one message may carry, unless the server is configured otherwise. */
export const DEFAULT_MAX_METRICS_PER_MESSAGE = 256;

/** Bounds of RunMetadata. */
export const MAX_HYPERPARAMETERS = 256;
export const MAX_HYPERPARAMETER_TEXT_LENGTH = 1024;
export const MAX_TAGS = 32;
export const TAG_PATTERN = /^[^\s,][^,]{0,63}$/;
export const TAG_RULE = '1-64 characters, no comma, not starting with a space';
export const MAX_NOTE_LENGTH = 4096;

/** Webhook URLs one session may have besides the deployment's (SessionInfo.webhook_urls, SetAlertRules). */
export const MAX_WEBHOOK_URLS_PER_SESSION = 4;
/** Longest per-session webhook URL. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;
/**
 * Bounds of custom commands (custom_commands.proto). Names are what a
 * trainer's code calls them (`set_lr`), so snake_case identifiers only.
 */
export const CUSTOM_COMMAND_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const CUSTOM_COMMAND_NAME_RULE =
  '1-64 characters from [a-z0-9_], starting with a lowercase letter';
export const MAX_CUSTOM_COMMANDS = 32;
export const MAX_COMMAND_ARGUMENTS = 16;
export const MAX_COMMAND_DESCRIPTION_LENGTH = 512;
export const MAX_COMMAND_TEXT_ARGUMENT_LENGTH = 1024;

/** True once the trainer reported COMPLETED or FAILED: nothing more will come. */
export function isFinished(status: TrainingStatus | undefined): boolean {
  return status === TrainingStatus.COMPLETED || status === TrainingStatus.FAILED;
}

/** Global step of a batch: epoch * batches_per_epoch + batch_idx. */
export function globalStep(epoch: number, batchIdx: number, batchesPerEpoch: number): bigint {
  return BigInt(epoch) * BigInt(Math.max(1, batchesPerEpoch)) + BigInt(batchIdx);
}

type WatchEventCase = NonNullable<WatchSessionResponse['event']['case']>;

/**
 * How each watch event travels to a dashboard. Lossless events advance the
 * cursor and are never dropped (a watcher that cannot keep up is closed and
 * refills from the snapshot); latest-wins events replace an unsent older one
 * of the same kind while the watcher is not writable. `satisfies` makes a new
 * event kind in the contract a compile error here until it is classified.
 */
export const WATCH_EVENT_DELIVERY = {
  snapshot: 'lossless',
  batch: 'lossless',
  epoch: 'lossless',
  status: 'lossless',
  command: 'lossless',
  scalars: 'lossless',
  metadata: 'lossless',
  // Increments: a watcher adds each one to the matrix it holds, so none may be lost.
  confusion: 'lossless',
  // Performance figures are numbered with the scalars today (see the cursor
  // comment in dashboard.proto); each one also feeds its series.
  performance: 'lossless',
  images: 'latest-wins',
  keepalive: 'latest-wins',
  // Each alert change is the whole alert; changes are rare (firings of an
  // open alert are folded into it), and none may be lost.
  alert: 'lossless',
  // The whole settings each time, rare (an operator's edit, a registration): none may be lost.
  alertSettings: 'lossless',
} as const satisfies Record<WatchEventCase, 'lossless' | 'latest-wins'>;

export function isLatestWins(kind: WatchEventCase): boolean {
  return WATCH_EVENT_DELIVERY[kind] === 'latest-wins';
}

/** The values above that other languages must carry too, as plain data. */
export function rulesForOtherLanguages(): Record<string, string | number> {
  return {
    SESSION_ID_PATTERN: SESSION_ID_PATTERN.source,
    SERIES_NAME_PATTERN: SERIES_NAME_PATTERN.source,
    MAX_SERIES_NAME_LENGTH,
    LOSS_SERIES,
    SYSTEM_SERIES_PREFIX,
    DEFAULT_MAX_SERIES,
    DEFAULT_MAX_METRICS_PER_MESSAGE,
    MAX_HYPERPARAMETERS,
    MAX_HYPERPARAMETER_TEXT_LENGTH,
    MAX_TAGS,
    TAG_PATTERN: TAG_PATTERN.source,
    MAX_NOTE_LENGTH,
    MAX_WEBHOOK_URLS_PER_SESSION,
    MAX_WEBHOOK_URL_LENGTH,
    CUSTOM_COMMAND_NAME_PATTERN: CUSTOM_COMMAND_NAME_PATTERN.source,
    MAX_CUSTOM_COMMANDS,
    MAX_COMMAND_ARGUMENTS,
    MAX_COMMAND_DESCRIPTION_LENGTH,
    MAX_COMMAND_TEXT_ARGUMENT_LENGTH,
  };
}
