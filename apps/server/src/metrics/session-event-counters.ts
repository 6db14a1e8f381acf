import { Injectable } from '@nestjs/common';
import { SessionEventBus } from '../events/event-bus';
import { SESSION_EVENT_NAMES, type SessionEventName } from '../events/session-events';
import { MetricsService } from './metrics.service';

/**
 * Counts session events from the bus for /metrics:
 * `trainwatch_session_events_total{event=...}`, heartbeats, and the named
 * values (series points besides the loss) applied.
 */
@Injectable()
export class SessionEventCounters {
  private readonly counts = Object.fromEntries(
    SESSION_EVENT_NAMES.map((name) => [name, 0]),
  ) as Record<SessionEventName, number>;
  private namedValues = 0;

  constructor(bus: SessionEventBus, metrics: MetricsService) {
    for (const name of SESSION_EVENT_NAMES) bus.on(name, () => void (this.counts[name] += 1));
    bus.on('heartbeat.received', () => void (metrics.heartbeats += 1));
    bus.on('batch.applied', ({ batch }) => void (this.namedValues += countOf(batch.metrics)));
    bus.on('epoch.applied', ({ epoch }) => void (this.namedValues += countOf(epoch.metrics)));
    bus.on('scalars.applied', ({ scalars }) => void (this.namedValues += countOf(scalars.values)));
    metrics.labelledCounter(
      'session_events_total',
      'Session events by kind.',
      'event',
      () => this.counts,
    );
    metrics.counter(
      'named_values_total',
      'Named values (metrics, scalars, system series) applied to series.',
      () => this.namedValues,
    );
  }
}

function countOf(values: { [name: string]: number }): number {
  let count = 0;
  for (const _ in values) count += 1;
  return count;
}
