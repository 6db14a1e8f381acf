import { Injectable } from '@nestjs/common';
import {
  encodedOnce,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';

/** Upper bounds (ms) of the command latency histogram buckets. */
export const COMMAND_LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** How a message left the server. */
export type Transport = 'grpc' | 'grpc-web';

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * Counters and gauges of the running server, rendered in the Prometheus
 * text exposition format by {@link MetricsService.render}. Gauges that other
 * services own (sessions, watchers) are read through callbacks at render time.
 */
@Injectable()
export class MetricsService {
  messagesIn = 0;
  heartbeats = 0;
  bytesIn = 0;
  readonly messagesOut: Record<Transport, number> = { grpc: 0, 'grpc-web': 0 };
  readonly bytesOut: Record<Transport, number> = { grpc: 0, 'grpc-web': 0 };
  duplicateMessages = 0;
  rejectedMessages = 0;
  droppedImageFrames = 0;
  watcherOverflows = 0;
  readonly commandResults: Record<string, number> = {};
  private readonly commandLatency: Histogram = {
    buckets: COMMAND_LATENCY_BUCKETS_MS.map(() => 0),
    sum: 0,
    count: 0,
  };
  private readonly gauges = new Map<string, { help: string; read: () => number }>();
  private readonly counters = new Map<string, { help: string; read: () => number }>();
  private readonly labelledCounters = new Map<
    string,
    { help: string; label: string; read: () => Record<string, number> }
  >();
  /** Encoded size of each watch event, by message: it goes to many watchers and is measured once. */
  private readonly eventSizes = new WeakMap<object, number>();

  /** Registers a gauge read at render time (e.g. open sessions). */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  /** Registers a counter its owner keeps, read at render time (name ends in `_total`). */
  counter(name: string, help: string, read: () => number): void {
    this.counters.set(name, { help, read });
  }

  /** Registers counters its owner keeps by one label (name ends in `_total`). */
  labelledCounter(
    name: string,
    help: string,
    label: string,
    read: () => Record<string, number>,
  ): void {
    this.labelledCounters.set(name, { help, label, read });
  }

  /** Counts one watch event sent to a dashboard. */
  countWatchEvent(transport: Transport, event: WatchSessionResponse): void {
    this.messagesOut[transport] += 1;
    let size = this.eventSizes.get(event);
    if (size === undefined) {
      size = encodedOnce(WatchSessionResponseSchema, event).byteLength;
      this.eventSizes.set(event, size);
    }
    this.bytesOut[transport] += size;
  }

  /** Records how long a command took from issue to its final state. */
  observeCommand(result: string, latencyMs: number): void {
    this.commandResults[result] = (this.commandResults[result] ?? 0) + 1;
    const histogram = this.commandLatency;
    COMMAND_LATENCY_BUCKETS_MS.forEach((bound, index) => {
      if (latencyMs <= bound) histogram.buckets[index] = (histogram.buckets[index] ?? 0) + 1;
    });
    histogram.sum += latencyMs;
    histogram.count += 1;
  }

  /** Prometheus text format, every name prefixed `trainwatch_`. */
  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP trainwatch_${name} ${help}`, `# TYPE trainwatch_${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`trainwatch_${name}${labels} ${value}`);
    };
    for (const [name, { help, read }] of this.gauges) metric(name, 'gauge', help, [['', read()]]);
    for (const [name, { help, read }] of this.counters)
      metric(name, 'counter', help, [['', read()]]);
    for (const [name, { help, label, read }] of this.labelledCounters) {
      const samples = Object.entries(read()).map(([value, count]): [string, number] => [
        `{${label}="${value}"}`,
        count,
      ]);
      metric(name, 'counter', help, samples);
    }
    metric('messages_in_total', 'counter', 'Trainer messages received.', [['', this.messagesIn]]);
    metric('heartbeats_total', 'counter', 'Trainer heartbeats received.', [['', this.heartbeats]]);
    metric('bytes_in_total', 'counter', 'Serialized bytes of trainer messages received.', [
      ['', this.bytesIn],
    ]);
    const byTransport = (values: Record<Transport, number>): [string, number][] =>
      Object.entries(values).map(([transport, value]) => [`{transport="${transport}"}`, value]);
    metric(
      'messages_out_total',
      'counter',
      'Messages sent to trainers and watchers.',
      byTransport(this.messagesOut),
    );
    metric(
      'bytes_out_total',
      'counter',
      'Serialized bytes sent to trainers and watchers.',
      byTransport(this.bytesOut),
    );
    metric(
      'duplicate_messages_total',
      'counter',
      'Replayed trainer messages recognised by sequence.',
      [['', this.duplicateMessages]],
    );
    metric(
      'rejected_messages_total',
      'counter',
      'Trainer messages answered with an ErrorResponse.',
      [['', this.rejectedMessages]],
    );
    metric(
      'dropped_image_frames_total',
      'counter',
      'Image frames replaced before a slow watcher could receive them.',
      [['', this.droppedImageFrames]],
    );
    metric(
      'watcher_queue_overflows_total',
      'counter',
      'Watchers closed because their scalar queue overflowed.',
      [['', this.watcherOverflows]],
    );
    metric(
      'commands_total',
      'counter',
      'Commands by final state.',
      Object.entries(this.commandResults).map(([state, value]) => [`{state="${state}"}`, value]),
    );
    lines.push(
      '# HELP trainwatch_command_latency_ms Time from issuing a command to its final state.',
      '# TYPE trainwatch_command_latency_ms histogram',
    );
    COMMAND_LATENCY_BUCKETS_MS.forEach((bound, index) => {
      lines.push(
        `trainwatch_command_latency_ms_bucket{le="${bound}"} ${this.commandLatency.buckets[index] ?? 0}`,
      );
    });
    lines.push(
      `trainwatch_command_latency_ms_bucket{le="+Inf"} ${this.commandLatency.count}`,
      `trainwatch_command_latency_ms_sum ${this.commandLatency.sum}`,
      `trainwatch_command_latency_ms_count ${this.commandLatency.count}`,
    );
    return `${lines.join('\n')}\n`;
  }
}
