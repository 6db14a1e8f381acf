import {
  ErrorCode,
  LOSS_SERIES,
  MAX_SERIES_NAME_LENGTH,
  SERIES_NAME_PATTERN,
  SERIES_NAME_RULE,
  SeriesKind,
} from '@trainwatch/proto';
import type { Session } from '../sessions/session';
import { quoted } from '../sessions/run-metadata';
import type { Rejection } from './payload-validation';

/** Bounds of named values (settings; announced in ServerConfig). */
export interface MetricLimits {
  /** Distinct series per session, loss included (MAX_SERIES_PER_SESSION). */
  maxSeriesPerSession: number;
  /** Named values per message (MAX_METRICS_PER_MESSAGE). */
  maxMetricsPerMessage: number;
}

const invalid = (message: string): Rejection => ({ code: ErrorCode.INVALID_ARGUMENT, message });

/**
 * Checks one message's named values (`where` names the message): how many,
 * each name, `loss` not among them, a name not already a series of the other
 * kind, and the session's distinct-series bound. The loss always holds one
 * place of that bound, so batches are never refused for their loss. Values
 * are not checked: NaN and infinities are what a diverging run logs.
 * Undefined when the message may be applied.
 */
export function validateMetrics(
  values: { [name: string]: number },
  where: string,
  kind: SeriesKind,
  session: Session,
  limits: MetricLimits,
): Rejection | undefined {
  let count = 0;
  let fresh = 0;
  // for..in: no array of keys per message on the hot path.
  for (const name in values) {
    count += 1;
    if (count > limits.maxMetricsPerMessage) {
      const total = Object.keys(values).length;
      return invalid(
        `${where}: ${total} named values, more than max_metrics_per_message ${limits.maxMetricsPerMessage}`,
      );
    }
    if (name.length > MAX_SERIES_NAME_LENGTH) {
      return invalid(
        `${where}: metric name ${quoted(name)} has ${name.length} characters; at most ${MAX_SERIES_NAME_LENGTH}`,
      );
    }
    if (!SERIES_NAME_PATTERN.test(name)) {
      return invalid(`${where}: metric name ${quoted(name)} is invalid: ${SERIES_NAME_RULE}`);
    }
    if (name === LOSS_SERIES) {
      return invalid(
        `${where}: "${LOSS_SERIES}" is the series of BatchData.batch_loss and may not be named in a metrics map`,
      );
    }
    const series = session.series.get(name);
    if (series === undefined) {
      fresh += 1;
      // The loss holds one place whether or not it has a point yet.
      const distinct = 1 + session.series.namedCount + fresh;
      if (distinct > limits.maxSeriesPerSession) {
        return invalid(
          `${where}: metric ${quoted(name)} would be series ${distinct} of session ${session.id}; at most max_series ${limits.maxSeriesPerSession} distinct series per session (loss included)`,
        );
      }
    } else if (series.kind !== kind) {
      return invalid(
        `${where}: ${quoted(name)} is already a series per ${series.kind === SeriesKind.EPOCH ? 'epoch' : 'step'}; a name is logged per step or per epoch, not both`,
      );
    }
  }
  return undefined;
}
