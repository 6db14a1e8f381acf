import {
  MAX_NOTE_LENGTH,
  MAX_SERIES_NAME_LENGTH,
  type GetImageFramesRequest,
  type QuerySeriesRequest,
  type UpdateSessionRequest,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import {
  DEFAULT_IMAGE_FRAMES,
  DEFAULT_QUERY_POINTS,
  MAX_EXACT_INTEGER,
  MAX_IMAGE_FRAMES,
  MAX_QUERY_POINTS,
  MAX_QUERY_SERIES_NAMES,
  MAX_RUN_NAME_LENGTH,
} from '../common/limits';

/** A step window as the store reads it: `to` undefined means up to the last point. */
export interface StepWindow {
  from: number;
  to: number | undefined;
}

/** [from_step, to_step] of a request; INVALID_ARGUMENT for a negative or reversed window. */
export function stepWindow(fromStep: bigint, toStep: bigint): StepWindow {
  if (fromStep < 0n || toStep < 0n) {
    throw errors.invalidArgument(
      `from_step ${fromStep} and to_step ${toStep} must not be negative (to_step 0 means up to the last point)`,
    );
  }
  if (toStep !== 0n && toStep < fromStep) {
    throw errors.invalidArgument(`to_step ${toStep} is before from_step ${fromStep}`);
  }
  return { from: exactStep(fromStep), to: toStep === 0n ? undefined : exactStep(toStep) };
}

/**
 * A requested step as the stores compare it: steps never pass 2^53 - 1
 * (the trainer's are refused beyond), so a larger one reads the same as it
 * and stays exact (MAX_EXACT_INTEGER).
 */
export function exactStep(step: bigint): number {
  if (step > MAX_EXACT_INTEGER) return Number.MAX_SAFE_INTEGER;
  if (step < 0n) return 0;
  return Number(step);
}

/** QuerySeriesRequest.max_points, defaulted and bounded. */
export function queryPoints(request: QuerySeriesRequest): number {
  const requested = request.maxPoints;
  if (requested < 0 || requested > MAX_QUERY_POINTS) {
    throw errors.invalidArgument(
      `max_points ${requested} is out of range: use 1 to ${MAX_QUERY_POINTS}, or 0 for ${DEFAULT_QUERY_POINTS}`,
    );
  }
  return requested === 0 ? DEFAULT_QUERY_POINTS : requested;
}

/**
 * QuerySeriesRequest.names without repeats; INVALID_ARGUMENT past
 * MAX_QUERY_SERIES_NAMES distinct names, or for a name no series can have.
 */
export function queryNames(request: QuerySeriesRequest): string[] {
  const names = [...new Set(request.names)];
  if (names.length > MAX_QUERY_SERIES_NAMES) {
    throw errors.invalidArgument(
      `names has ${names.length} distinct names; at most ${MAX_QUERY_SERIES_NAMES} (send none for every series)`,
    );
  }
  const tooLong = names.find((name) => name.length > MAX_SERIES_NAME_LENGTH);
  if (tooLong !== undefined) {
    throw errors.invalidArgument(
      `names holds ${JSON.stringify(tooLong.slice(0, 64))}... of ${tooLong.length} characters; a series name has at most ${MAX_SERIES_NAME_LENGTH}`,
    );
  }
  return names;
}

/** GetImageFramesRequest.max_frames, defaulted and bounded. */
export function frameCount(request: GetImageFramesRequest): number {
  const requested = request.maxFrames;
  if (requested < 0 || requested > MAX_IMAGE_FRAMES) {
    throw errors.invalidArgument(
      `max_frames ${requested} is out of range: use 1 to ${MAX_IMAGE_FRAMES}, or 0 for ${DEFAULT_IMAGE_FRAMES}`,
    );
  }
  return requested === 0 ? DEFAULT_IMAGE_FRAMES : requested;
}

/** The name and note bounds of UpdateSession (tags are checked as run metadata). */
export function checkUpdate(request: UpdateSessionRequest): void {
  if (request.name !== undefined && request.name.length > MAX_RUN_NAME_LENGTH) {
    throw errors.invalidArgument(
      `name has ${request.name.length} characters; at most ${MAX_RUN_NAME_LENGTH}`,
    );
  }
  // Control characters would break a list line; checked by code point (a regex of them trips the linter).
  if (request.name !== undefined && [...request.name].some((c) => c < ' ' || c === '\u007f')) {
    throw errors.invalidArgument('name must not contain control characters');
  }
  if (request.note !== undefined && request.note.length > MAX_NOTE_LENGTH) {
    throw errors.invalidArgument(
      `note has ${request.note.length} characters; at most ${MAX_NOTE_LENGTH}`,
    );
  }
}
