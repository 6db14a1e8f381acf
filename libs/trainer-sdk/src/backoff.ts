/** How long to wait between reconnect attempts. */
export interface ReconnectOptions {
  /** Delay before the first retry, milliseconds. Default 200. */
  initialDelayMs?: number;
  /** Upper bound on any delay, milliseconds. Default 5000. */
  maxDelayMs?: number;
}

/** Defaults for {@link ReconnectOptions}. */
export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelayMs: 200,
  maxDelayMs: 5000,
};

/**
 * Exponential backoff with "equal jitter": the delay doubles per failed
 * attempt up to `maxDelayMs`, and a random half of it is shaved off so many
 * trainers that lost the same server do not all come back in the same
 * millisecond, while no retry is ever immediate.
 *
 * @param attempt zero for the first retry after a failure
 * @param random a source of numbers in [0, 1), injectable for tests
 */
export function backoffDelay(
  attempt: number,
  options: Required<ReconnectOptions>,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** exponent);
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}

/** Checks reconnect options, filling in defaults; throws a RangeError naming the bad field. */
export function resolveReconnectOptions(
  options: ReconnectOptions = {},
): Required<ReconnectOptions> {
  const resolved = { ...DEFAULT_RECONNECT, ...options };
  if (!Number.isFinite(resolved.initialDelayMs) || resolved.initialDelayMs <= 0) {
    throw new RangeError(`reconnect.initialDelayMs must be > 0, got ${resolved.initialDelayMs}`);
  }
  if (!Number.isFinite(resolved.maxDelayMs) || resolved.maxDelayMs < resolved.initialDelayMs) {
    throw new RangeError(
      `reconnect.maxDelayMs must be >= initialDelayMs (${resolved.initialDelayMs}), got ${resolved.maxDelayMs}`,
    );
  }
  return resolved;
}
