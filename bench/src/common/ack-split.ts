import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { bucketPercentile, parseBuckets, scrapeMetrics, type Buckets } from './fan-out-stages';
import type { Target } from './targets';

/** The server's histogram of message arrival → ack sent (MetricsService). */
const ACK_HISTOGRAM = 'trainwatch_ack_latency_ms';

/** What a measured send → ack latency is made of, over one window. */
export interface AckParts {
  /** Server: arrival → ack sent, ms (from its histogram, interpolated in its buckets). */
  serverAckP50Ms: number;
  serverAckP99Ms: number;
  /** The event-loop delay of this process (every load trainer's writes and ack reads), ms. */
  benchLoopDelayP99Ms: number;
}

/**
 * Splits a product target's send → ack latency: the server's own part
 * (arrival → ack sent, read from /metrics before and after the window) and
 * this process's event-loop delay; the rest is the way there and back
 * (both HTTP/2 stacks and sockets). NaN for a target without /metrics.
 */
export class AckSplit {
  private before: Buckets = new Map();
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor(private readonly target: Target) {}

  async start(): Promise<void> {
    this.before = parseBuckets(await scrapeMetrics(this.target), ACK_HISTOGRAM, '');
    this.loop.reset();
    this.loop.enable();
  }

  async stop(): Promise<AckParts> {
    this.loop.disable();
    const after = parseBuckets(await scrapeMetrics(this.target), ACK_HISTOGRAM, '');
    return {
      serverAckP50Ms: bucketPercentile(this.before, after, 50),
      serverAckP99Ms: bucketPercentile(this.before, after, 99),
      benchLoopDelayP99Ms: this.loop.percentile(99) / 1e6,
    };
  }
}
