import type { MessageInitShape } from '@bufbuild/protobuf';
import type { PerformanceDataSchema } from '@trainwatch/proto';
import { CpuMeter, PerformanceTracker, type RunShape } from './performance-tracker';

/** When performance samples go out. */
export interface SamplingCadence {
  /** At least this many batches apart... */
  everyBatches: number;
  /** ...and at least this many milliseconds apart. */
  intervalMs: number;
}

/**
 * Decides when a performance sample is due (every N batches or every T ms,
 * whichever comes later, so a fast loop is not flooded and a slow one still
 * reports) and builds it: throughput figures plus process CPU and memory.
 */
export class PerformanceSampler {
  readonly tracker: PerformanceTracker;
  private readonly cpu: CpuMeter;
  private lastSampleAt = -Infinity;
  private batchesSinceSample = 0;

  constructor(
    shape: RunShape,
    private readonly cadence: SamplingCadence,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tracker = new PerformanceTracker(shape, now);
    this.cpu = new CpuMeter(now);
  }

  /** Records a finished batch; returns true when a sample is due. */
  recordBatch(epoch: number, atMs = this.now()): boolean {
    this.tracker.recordBatch(epoch, atMs);
    this.batchesSinceSample++;
    return (
      this.batchesSinceSample >= this.cadence.everyBatches &&
      this.now() - this.lastSampleAt >= this.cadence.intervalMs
    );
  }

  /**
   * The sample to send now, or undefined before the first batch.
   * @param done batches of the planned run completed, for the ETA
   */
  sample(done: number): MessageInitShape<typeof PerformanceDataSchema> | undefined {
    const figures = this.tracker.figures(done);
    if (figures === undefined) return undefined;
    this.lastSampleAt = this.now();
    this.batchesSinceSample = 0;
    return {
      ...figures,
      // GPU figures are unknowable from Node, so they stay unset.
      resourceUsage: {
        cpuPercent: this.cpu.sample(),
        memoryBytes: BigInt(process.memoryUsage.rss()),
      },
      timestampMs: BigInt(Date.now()),
    };
  }
}
