import type { EventEmitter } from 'node:events';
import { Inject, Injectable } from '@nestjs/common';
import { errors, toGrpcStatus, type AppError } from '../common/app-error';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { MetricsService } from '../metrics/metrics.service';

/**
 * StreamMetrics calls whose first message (the one that names the session)
 * has not arrived yet. Such a stream holds server resources for nobody, so
 * each one gets `streamBindTimeoutMs` to send it, after which it is closed
 * with DEADLINE_EXCEEDED; and at most `maxSessions` may wait at once (every
 * legitimate one belongs to a registered session), past which new streams
 * are refused with RESOURCE_EXHAUSTED.
 */
@Injectable()
export class UnboundStreams {
  private readonly waiting = new Set<EventEmitter>();
  private timedOut = 0;
  private refused = 0;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    metrics: MetricsService,
  ) {
    metrics.gauge(
      'streams_unbound',
      'Trainer streams open that have not sent their first message yet.',
      () => this.waiting.size,
    );
    metrics.counter(
      'stream_bind_timeouts_total',
      'Trainer streams closed for sending no first message within STREAM_BIND_TIMEOUT_MS.',
      () => this.timedOut,
    );
    metrics.counter(
      'streams_unbound_refused_total',
      'Trainer streams refused because too many were open without a first message.',
      () => this.refused,
    );
  }

  get size(): number {
    return this.waiting.size;
  }

  /**
   * Starts the bind deadline of a new call, which `close` ends with the
   * given error; true when admitted. When too many calls are waiting, ends
   * this one with RESOURCE_EXHAUSTED and returns false: do not serve it.
   */
  admit(call: EventEmitter, close: (error: AppError) => void): boolean {
    const limit = this.settings.maxSessions;
    if (this.waiting.size >= limit) {
      this.refused += 1;
      const refusal = errors.resourceExhausted(
        `${limit} trainer streams are already open without a first message (the bound is MAX_SESSIONS); send the first message as soon as the stream opens`,
      );
      call.emit('error', toGrpcStatus(refusal));
      return false;
    }
    this.waiting.add(call);
    const timeoutMs = this.settings.streamBindTimeoutMs;
    const settle = () => {
      clearTimeout(timer);
      this.waiting.delete(call);
      for (const event of ENDING_EVENTS) call.off(event, settle);
    };
    const timer = setTimeout(() => {
      settle();
      this.timedOut += 1;
      close(
        errors.deadlineExceeded(
          `no first message within ${timeoutMs} ms (STREAM_BIND_TIMEOUT_MS): a stream must name its session when it opens`,
        ),
      );
    }, timeoutMs);
    // An idle unbound stream must not keep the process alive on its own.
    timer.unref();
    for (const event of ENDING_EVENTS) call.once(event, settle);
    return true;
  }
}

/** Events after which a call no longer waits to bind: its first message, or its end. */
const ENDING_EVENTS = ['data', 'end', 'error', 'cancelled', 'close'] as const;
