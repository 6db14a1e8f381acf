import { Injectable } from '@nestjs/common';
import {
  encodedOnce,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Upper bounds (ms) of the command latency histogram buckets. */
export const COMMAND_LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Upper bounds (ms) of the ack latency buckets (the store's group commit sits in the 5-30 ms range). */
export const ACK_LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 30, 50, 100, 250, 500, 1000, 5000];
/** Upper bounds (ms) of the ingest → watcher latency buckets. */
export const FAN_OUT_LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 10000];
/** Upper bounds (ms) of the store commit time buckets. */
export const STORE_COMMIT_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 5000];
/**
 * Label values one labelled counter exposes (e.g. API key ids); the
 * smallest beyond it are summed under `other`, so a flood of keys cannot
 * grow /metrics without bound.
 */
export const MAX_LABEL_VALUES = 100;
/** The label value the counts beyond MAX_LABEL_VALUES are summed under. */
export const OTHER_LABEL_VALUE = 'other';
/** Every metric name starts with this. */
const PREFIX = 'trainwatch_';

/** How a message left the server. */
export type Transport = 'grpc' | 'grpc-web';

/**
 * The server's /metrics, through prom-client (Prometheus text format).
 * Hot-path counts stay plain numbers on this service (one addition per
 * message); prom-client reads them, and the gauges and counters other
 * services own, through `collect` callbacks at scrape time. Latencies are
 * histograms observed once per ack, per delivered watch event, per command
 * and per store commit. Default process metrics (CPU, heap, event-loop lag,
 * GC) come from prom-client's collector.
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
  readonly registry = new Registry();
  private readonly commandLatency: Histogram;
  private readonly ackLatency: Histogram;
  private readonly fanOutLatency: Histogram<'transport'>;
  private readonly storeCommit: Histogram;
  /** Encoded size of each watch event, by message: it goes to many watchers and is measured once. */
  private readonly eventSizes = new WeakMap<object, number>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.counter('messages_in_total', 'Trainer messages received.', () => this.messagesIn);
    this.counter('heartbeats_total', 'Trainer heartbeats received.', () => this.heartbeats);
    this.counter(
      'bytes_in_total',
      'Serialized bytes of trainer messages received.',
      () => this.bytesIn,
    );
    this.labelledCounter(
      'messages_out_total',
      'Messages sent to trainers and watchers.',
      'transport',
      () => this.messagesOut,
    );
    this.labelledCounter(
      'bytes_out_total',
      'Serialized bytes sent to trainers and watchers.',
      'transport',
      () => this.bytesOut,
    );
    this.counter(
      'duplicate_messages_total',
      'Replayed trainer messages recognised by sequence.',
      () => this.duplicateMessages,
    );
    this.counter(
      'rejected_messages_total',
      'Trainer messages answered with an ErrorResponse.',
      () => this.rejectedMessages,
    );
    this.counter(
      'dropped_image_frames_total',
      'Image frames replaced before a slow watcher could receive them.',
      () => this.droppedImageFrames,
    );
    this.counter(
      'watcher_queue_overflows_total',
      'Watchers closed because their scalar queue overflowed.',
      () => this.watcherOverflows,
    );
    this.labelledCounter(
      'commands_total',
      'Commands by final state.',
      'state',
      () => this.commandResults,
    );
    this.commandLatency = new Histogram({
      name: `${PREFIX}command_latency_ms`,
      help: 'Time from issuing a command to its final state.',
      buckets: COMMAND_LATENCY_BUCKETS_MS,
      registers: [this.registry],
    });
    this.ackLatency = new Histogram({
      name: `${PREFIX}ack_latency_ms`,
      help: 'Time from a trainer message arriving to its ack being sent (the store commit included).',
      buckets: ACK_LATENCY_BUCKETS_MS,
      registers: [this.registry],
    });
    this.fanOutLatency = new Histogram({
      name: `${PREFIX}fan_out_latency_ms`,
      help: 'Time from a batch arriving from its trainer to its event being sent to a watcher.',
      labelNames: ['transport'],
      buckets: FAN_OUT_LATENCY_BUCKETS_MS,
      registers: [this.registry],
    });
    this.storeCommit = new Histogram({
      name: `${PREFIX}store_commit_ms`,
      help: 'Time one group commit of the store took (a failed attempt included).',
      buckets: STORE_COMMIT_BUCKETS_MS,
      registers: [this.registry],
    });
  }

  /** Registers a gauge read at scrape time (e.g. open sessions). */
  gauge(name: string, help: string, read: () => number): void {
    this.replace(name);
    new Gauge({
      name: PREFIX + name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** Registers a counter its owner keeps, read at scrape time (name ends in `_total`). */
  counter(name: string, help: string, read: () => number): void {
    this.replace(name);
    new Counter({
      name: PREFIX + name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /**
   * Registers counters its owner keeps by one label (name ends in `_total`);
   * at most MAX_LABEL_VALUES label values are exposed.
   */
  labelledCounter(
    name: string,
    help: string,
    label: string,
    read: () => Record<string, number>,
  ): void {
    this.replace(name);
    new Counter({
      name: PREFIX + name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [value, count] of boundedLabels(read())) this.inc({ [label]: value }, count);
      },
    });
  }

  /** Counts one watch event sent to a dashboard, and how long after its batch arrived it went out. */
  countWatchEvent(transport: Transport, event: WatchSessionResponse): void {
    this.messagesOut[transport] += 1;
    let size = this.eventSizes.get(event);
    if (size === undefined) {
      size = encodedOnce(WatchSessionResponseSchema, event).byteLength;
      this.eventSizes.set(event, size);
    }
    this.bytesOut[transport] += size;
    this.observeDelivery(transport, event);
  }

  /**
   * Records ingest → watcher latency for a batch event written to one
   * watcher (BatchEvent.received_at_ms is when the server applied it).
   */
  observeDelivery(transport: Transport, event: WatchSessionResponse): void {
    if (event.event.case !== 'batch') return;
    const receivedAtMs = Number(event.event.value.receivedAtMs);
    if (receivedAtMs > 0) {
      this.fanOutLatency.observe({ transport }, Math.max(0, Date.now() - receivedAtMs));
    }
  }

  /** Records how long a command took from issue to its final state. */
  observeCommand(result: string, latencyMs: number): void {
    this.commandResults[result] = (this.commandResults[result] ?? 0) + 1;
    this.commandLatency.observe(latencyMs);
  }

  /** Records one ack: how long after its message arrived it was sent. */
  observeAck(latencyMs: number): void {
    this.ackLatency.observe(latencyMs);
  }

  /** Records one store commit attempt's duration. */
  observeStoreCommit(durationMs: number): void {
    this.storeCommit.observe(durationMs);
  }

  /** Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text format, every name prefixed `trainwatch_`. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** A later registration of a name wins (services re-created in one process, e.g. tests). */
  private replace(name: string): void {
    if (this.registry.getSingleMetric(PREFIX + name) !== undefined) {
      this.registry.removeSingleMetric(PREFIX + name);
    }
  }
}

/** The label values to expose: all of them, or the largest MAX_LABEL_VALUES - 1 and `other`. */
export function boundedLabels(counts: Record<string, number>): [string, number][] {
  const entries = Object.entries(counts);
  if (entries.length <= MAX_LABEL_VALUES) return entries;
  entries.sort((a, b) => b[1] - a[1]);
  const kept = entries.slice(0, MAX_LABEL_VALUES - 1);
  let other = 0;
  for (const [, count] of entries.slice(MAX_LABEL_VALUES - 1)) other += count;
  kept.push([OTHER_LABEL_VALUE, other]);
  return kept;
}
