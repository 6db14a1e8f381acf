import type { MetricsResponse } from '@trainwatch/proto';
import type { AppError } from '../common/app-error';

/**
 * The server's handle on one open StreamMetrics stream, as the rest of the
 * server sees it: commands go out through `send`, and `close` ends it.
 */
export interface TrainerLink {
  /** Queues a response to the trainer (bounded; see TRAINER_RESPONSE_SLACK). */
  send(response: MetricsResponse): void;
  /** Ends the stream: cleanly without an error, else with the error's status. */
  close(error?: AppError): void;
}
