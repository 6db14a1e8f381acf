import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Target } from './targets';

/** The server's histogram of batch apply → write to one watcher's stream (MetricsService). */
const WRITE_HISTOGRAM = 'trainwatch_fan_out_latency_ms';
/** prom-client's event-loop lag gauges (seconds), from its default collector. */
const LOOP_LAG_P99 = 'trainwatch_nodejs_eventloop_lag_p99_seconds';

/** Cumulative bucket counts of one histogram series: upper bound (ms) → count. */
export type Buckets = Map<number, number>;

/** Reads one labelled histogram's cumulative buckets from Prometheus text. */
export function parseBuckets(text: string, name: string, labels: string): Buckets {
  const buckets: Buckets = new Map();
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix) || !line.includes(labels)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le !== undefined) buckets.set(le === '+Inf' ? Infinity : Number(le), value);
  }
  return buckets;
}

/** A gauge's value from Prometheus text (NaN when absent). */
export function parseGauge(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

/**
 * The p-th percentile of what was observed between two scrapes of a
 * cumulative histogram, interpolated linearly inside its bucket (as
 * Prometheus' histogram_quantile does); NaN with nothing observed.
 */
export function bucketPercentile(before: Buckets, after: Buckets, p: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = (p / 100) * total;
  for (let i = 0; i < bounds.length; i++) {
    const count = counts[i] ?? 0;
    if (count < rank) continue;
    const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
    const upper = bounds[i] ?? Infinity;
    if (upper === Infinity) return lower;
    const below = i === 0 ? 0 : (counts[i - 1] ?? 0);
    const inBucket = count - below;
    return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
  }
  return Number.NaN;
}

/** What the native tail is made of, over one measuring window. */
export interface StageSplit {
  /** Server: batch applied → written to a watcher's native gRPC stream, ms (from its histogram). */
  applyToWriteP50: number;
  applyToWriteP99: number;
  /** The server's event-loop lag p99 at the end of the window, ms (prom-client). */
  serverLoopLagP99: number;
  /** The event-loop delay of this process (the trainer's, with or without watchers) over the window, ms. */
  benchLoopDelayP99: number;
  benchLoopDelayMax: number;
}

/**
 * Splits a product target's trainer → watcher latency per stage: the
 * server's own apply → write histogram (read from /metrics before and after
 * the window) and both processes' event-loop delay. The watchers time
 * send → apply and apply → arrival themselves (BatchEvent.received_at_ms).
 */
export class StageProbe {
  private before: Buckets = new Map();
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor(
    private readonly target: Target,
    private readonly transport: 'grpc' | 'grpc-web',
  ) {}

  async start(): Promise<void> {
    this.before = parseBuckets(await scrapeMetrics(this.target), WRITE_HISTOGRAM, this.labels);
    this.loop.reset();
    this.loop.enable();
  }

  async stop(): Promise<StageSplit> {
    this.loop.disable();
    const text = await scrapeMetrics(this.target);
    const after = parseBuckets(text, WRITE_HISTOGRAM, this.labels);
    return {
      applyToWriteP50: bucketPercentile(this.before, after, 50),
      applyToWriteP99: bucketPercentile(this.before, after, 99),
      serverLoopLagP99: parseGauge(text, LOOP_LAG_P99) * 1000,
      benchLoopDelayP99: this.loop.percentile(99) / 1e6,
      benchLoopDelayMax: this.loop.max / 1e6,
    };
  }

  private get labels(): string {
    return `transport="${this.transport}"`;
  }
}

/** A product target's /metrics text ('' for a target without HTTP, or when it does not answer 200). */
export async function scrapeMetrics(target: Target): Promise<string> {
  if (target.httpUrl === undefined) return '';
  const response = await fetch(`${target.httpUrl}/metrics`);
  return response.ok ? response.text() : '';
}
