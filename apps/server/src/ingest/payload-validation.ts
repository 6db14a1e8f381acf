import {
  ErrorCode,
  TrainingStatus,
  type BatchData,
  type MetricsRequest,
  type EpochData,
  type PerformanceData,
  type StatusUpdate,
} from '@trainwatch/proto';
import { isAppError } from '../common/app-error';
import { MAX_EXACT_INTEGER, MAX_PREDICTED_LABEL_LENGTH } from '../common/limits';
import type { Session } from '../sessions/session';
import { validateTrainingConfig } from '../sessions/session-validation';
import { inspectJpeg } from './jpeg';

/** Why one message is rejected; sent to the trainer as an ErrorResponse. */
export interface Rejection {
  code: ErrorCode;
  message: string;
}

/** Limits a batch is checked against (from settings). */
export interface BatchLimits {
  maxImagesPerBatch: number;
  maxImageDimension: number;
}

const ACCEPTED_FORMATS = new Set(['', 'jpeg', 'jpg']);

const reject = (code: ErrorCode, message: string): Rejection => ({ code, message });

/** How rejections name a batch (built only when one is rejected). */
const batchName = (batch: BatchData) => () => `batch ${batch.batchIdx} of epoch ${batch.epoch}`;

const imageName = (name: () => string, index: number) => `${name()}, image ${index}`;

/**
 * The message's times and, for scalars, its step: numbers the server reads
 * exactly and both stores hold (a time near 2^63 read as a number passed
 * PostgreSQL's bigint and failed every commit holding it). Undefined when
 * they are fine.
 */
export function validateTimes(request: MetricsRequest): Rejection | undefined {
  const outside = (value: bigint) => value > MAX_EXACT_INTEGER || value < -MAX_EXACT_INTEGER;
  if (outside(request.timestampMs)) {
    return reject(
      ErrorCode.INVALID_ARGUMENT,
      `timestamp_ms ${request.timestampMs} is outside ±${MAX_EXACT_INTEGER} (milliseconds since 1970)`,
    );
  }
  const payload = request.payload;
  const value = payload.value as { timestampMs?: unknown } | undefined;
  if (typeof value?.timestampMs === 'bigint' && outside(value.timestampMs)) {
    return reject(
      ErrorCode.INVALID_ARGUMENT,
      `${payload.case} timestamp_ms ${value.timestampMs} is outside ±${MAX_EXACT_INTEGER} (milliseconds since 1970)`,
    );
  }
  if (
    payload.case === 'scalars' &&
    (payload.value.step < 0n || payload.value.step > MAX_EXACT_INTEGER)
  ) {
    return reject(
      ErrorCode.INVALID_ARGUMENT,
      `scalars step ${payload.value.step} is outside 0 to ${MAX_EXACT_INTEGER}`,
    );
  }
  return undefined;
}

/** Checks one batch against the limits and the session's position; undefined when it is fine. */
export function validateBatch(
  batch: BatchData,
  session: Session,
  limits: BatchLimits,
): Rejection | undefined {
  // Names are built only for a rejection: this runs on every batch, 16 images each.
  const name = batchName(batch);
  if (batch.epoch < 0 || batch.batchIdx < 0 || batch.batchSize < 0) {
    return reject(
      ErrorCode.INVALID_ARGUMENT,
      `${name()}: epoch, batch_idx and batch_size must be >= 0`,
    );
  }
  // batch_loss is not checked: NaN and infinities are what a diverging run
  // logs; they are stored and charted, and the watchdog reacts to them.
  const count = Math.max(batch.images.length, batch.predictions.length, batch.groundTruth.length);
  if (count > limits.maxImagesPerBatch) {
    return reject(
      ErrorCode.TOO_MANY_IMAGES,
      `${name()}: ${count} images (or predictions) exceed max_batch_size ${limits.maxImagesPerBatch}`,
    );
  }
  const images = batch.images;
  for (let index = 0; index < images.length; index++) {
    const image = images[index] as (typeof images)[number];
    if (image.format !== '' && !ACCEPTED_FORMATS.has(image.format.toLowerCase())) {
      return reject(
        ErrorCode.NOT_JPEG,
        `${imageName(name, index)}: format ${JSON.stringify(image.format)} is not "jpeg"`,
      );
    }
    const jpeg = inspectJpeg(image.imageBytes);
    const size = jpeg.size;
    if (size === undefined) {
      return reject(
        ErrorCode.NOT_JPEG,
        `${imageName(name, index)}: ${jpeg.problem ?? 'no JPEG frame header found'}`,
      );
    }
    const largest = Math.max(size.width, size.height, image.width, image.height);
    if (largest > limits.maxImageDimension) {
      return reject(
        ErrorCode.IMAGE_TOO_LARGE,
        `${imageName(name, index)}: ${size.width}x${size.height} exceeds max_image_dimension ${limits.maxImageDimension}`,
      );
    }
    if (size.width === 0 || size.height === 0) {
      return reject(
        ErrorCode.INVALID_ARGUMENT,
        `${imageName(name, index)}: frame header declares a zero size`,
      );
    }
    if (
      (image.width !== 0 && image.width !== size.width) ||
      (image.height !== 0 && image.height !== size.height)
    ) {
      return reject(
        ErrorCode.INVALID_ARGUMENT,
        `${imageName(name, index)}: declared ${image.width}x${image.height} but the JPEG is ${size.width}x${size.height}`,
      );
    }
    if (image.channels !== 0 && image.channels !== 1 && image.channels !== 3) {
      return reject(
        ErrorCode.INVALID_ARGUMENT,
        `${imageName(name, index)}: channels must be 1 or 3, got ${image.channels}`,
      );
    }
    // Checked last: a size problem is the clearer answer for an image that has both.
    if (jpeg.problem !== undefined)
      return reject(ErrorCode.NOT_JPEG, `${imageName(name, index)}: ${jpeg.problem}`);
  }
  const rejection = validatePredictions(batch, name, session.config?.classNames.length ?? 0);
  if (rejection !== undefined) return rejection;
  const last = session.position;
  if (
    last !== undefined &&
    (batch.epoch < last.epoch || (batch.epoch === last.epoch && batch.batchIdx <= last.batchIdx))
  ) {
    return reject(
      ErrorCode.OUT_OF_ORDER,
      `${name()} does not come after batch ${last.batchIdx} of epoch ${last.epoch}: epoch/batch went backwards`,
    );
  }
  return undefined;
}

/**
 * Checks predictions and ground truth against the run's classes: class
 * indices within class_names (only >= 0 when the config names no classes),
 * confidence a probability, labels of bounded length.
 */
function validatePredictions(
  batch: BatchData,
  name: () => string,
  classCount: number,
): Rejection | undefined {
  const classProblem = (what: string, value: number): string | undefined => {
    if (value < 0) return `${what} ${value} is negative`;
    if (classCount > 0 && value >= classCount) {
      return `${what} ${value} is outside class_names (${classCount} classes: 0..${classCount - 1})`;
    }
    return undefined;
  };
  const predictions = batch.predictions;
  for (let index = 0; index < predictions.length; index++) {
    const prediction = predictions[index] as (typeof predictions)[number];
    if (!Number.isFinite(prediction.confidence)) {
      return reject(
        ErrorCode.NON_FINITE_VALUE,
        `${imageName(name, index)}: confidence is ${prediction.confidence}, not a finite number`,
      );
    }
    if (prediction.confidence < 0 || prediction.confidence > 1) {
      return reject(
        ErrorCode.INVALID_ARGUMENT,
        `${imageName(name, index)}: confidence ${prediction.confidence} is outside 0..1`,
      );
    }
    const problem = classProblem('predicted_class', prediction.predictedClass);
    if (problem !== undefined)
      return reject(ErrorCode.INVALID_ARGUMENT, `${imageName(name, index)}: ${problem}`);
    if (prediction.predictedLabel.length > MAX_PREDICTED_LABEL_LENGTH) {
      return reject(
        ErrorCode.INVALID_ARGUMENT,
        `${imageName(name, index)}: predicted_label has ${prediction.predictedLabel.length} characters, more than ${MAX_PREDICTED_LABEL_LENGTH}`,
      );
    }
  }
  const groundTruth = batch.groundTruth;
  for (let index = 0; index < groundTruth.length; index++) {
    const problem = classProblem('ground_truth', groundTruth[index] as number);
    if (problem !== undefined) {
      return reject(ErrorCode.INVALID_ARGUMENT, `${imageName(name, index)}: ${problem}`);
    }
  }
  return undefined;
}

/** Checks an epoch summary; undefined when it is fine. */
export function validateEpoch(epoch: EpochData, session: Session): Rejection | undefined {
  const name = `epoch ${epoch.epoch}`;
  if (epoch.epoch < 0) return reject(ErrorCode.INVALID_ARGUMENT, `${name}: epoch must be >= 0`);
  // Non-finite averages are data (a diverged epoch), as for batch_loss; a
  // finite accuracy is still a fraction.
  if (
    Number.isFinite(epoch.averageAccuracy) &&
    (epoch.averageAccuracy < 0 || epoch.averageAccuracy > 1)
  ) {
    return reject(
      ErrorCode.INVALID_ARGUMENT,
      `${name}: average_accuracy ${epoch.averageAccuracy} is outside 0..1`,
    );
  }
  const previous = session.epochs[session.epochs.length - 1];
  if (previous !== undefined && epoch.epoch <= previous.epoch) {
    return reject(
      ErrorCode.OUT_OF_ORDER,
      `${name} does not come after epoch ${previous.epoch}: epoch went backwards`,
    );
  }
  return undefined;
}

/** Checks performance figures; undefined when they are fine. */
export function validatePerformance(performance: PerformanceData): Rejection | undefined {
  const figures = [
    performance.timePerBatchMs,
    performance.totalTimeForEpochSec,
    performance.estimatedTimeRemainingSec,
    performance.currentFps,
    performance.averageFps,
    performance.resourceUsage?.cpuPercent ?? 0,
    performance.resourceUsage?.gpuPercent ?? 0,
  ];
  if (figures.some((value) => !Number.isFinite(value))) {
    return reject(ErrorCode.NON_FINITE_VALUE, 'performance figures must be finite');
  }
  if (figures.some((value) => value < 0)) {
    return reject(ErrorCode.INVALID_ARGUMENT, 'performance figures must be >= 0');
  }
  return undefined;
}

/** Statuses each status may move to (INITIALIZING from anywhere: a restarted run). */
const TRANSITIONS: Record<TrainingStatus, readonly TrainingStatus[]> = {
  [TrainingStatus.UNKNOWN]: [],
  [TrainingStatus.INITIALIZING]: [
    TrainingStatus.RUNNING,
    TrainingStatus.PAUSED,
    TrainingStatus.COMPLETED,
    TrainingStatus.FAILED,
  ],
  [TrainingStatus.RUNNING]: [
    TrainingStatus.RUNNING,
    TrainingStatus.PAUSED,
    TrainingStatus.COMPLETED,
    TrainingStatus.FAILED,
  ],
  [TrainingStatus.PAUSED]: [
    TrainingStatus.PAUSED,
    TrainingStatus.RUNNING,
    TrainingStatus.COMPLETED,
    TrainingStatus.FAILED,
  ],
  [TrainingStatus.COMPLETED]: [],
  [TrainingStatus.FAILED]: [],
};

/** Checks a status change against the lifecycle; undefined when it is allowed. */
export function validateStatus(update: StatusUpdate, session: Session): Rejection | undefined {
  const target = update.status;
  if (!(target in TRANSITIONS) || target === TrainingStatus.UNKNOWN) {
    return reject(ErrorCode.INVALID_ARGUMENT, `status ${target} is not a training status`);
  }
  if (target !== TrainingStatus.INITIALIZING && !TRANSITIONS[session.status].includes(target)) {
    return reject(
      ErrorCode.INVALID_ARGUMENT,
      `status cannot change from ${TrainingStatus[session.status]} to ${TrainingStatus[target]}`,
    );
  }
  if (update.config !== undefined) {
    try {
      validateTrainingConfig(update.config, 'status_update.config');
    } catch (error) {
      return reject(
        ErrorCode.INVALID_ARGUMENT,
        isAppError(error) ? error.message : 'invalid config',
      );
    }
  }
  return undefined;
}
