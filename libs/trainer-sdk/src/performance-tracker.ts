/** Batches the "current" figures (time per batch, current FPS) average over. */
export const PERFORMANCE_WINDOW = 50;

/** Figures in PerformanceData's units, before resource use is added. */
export interface PerformanceFigures {
  timePerBatchMs: number;
  totalTimeForEpochSec: number;
  estimatedTimeRemainingSec: number;
  currentFps: number;
  averageFps: number;
}

/** Where the run is, for the ETA. */
export interface RunShape {
  totalEpochs: number;
  batchesPerEpoch: number;
}

/**
 * Turns the timing of logBatch calls into throughput figures. Pure apart from
 * the injected clock, so the arithmetic is testable.
 *
 * - time per batch and current FPS: mean interval over the last
 *   {@link PERFORMANCE_WINDOW} batches (a fixed ring, no growth);
 * - average FPS: batches since the run started over the time since then;
 * - epoch time: since the first batch of the current epoch began (the end of
 *   the previous batch, or the run start);
 * - ETA: batches left in the planned run times the current time per batch.
 * Time spent paused at the gate is excluded from all of them.
 */
export class PerformanceTracker {
  /** End times of recent batches, as a ring; one extra slot so N intervals fit. */
  private readonly ends = new Float64Array(PERFORMANCE_WINDOW + 1);
  private count = 0;
  private totalBatches = 0;
  private startedAt: number;
  private pausedTotal = 0;
  private currentEpoch = -1;
  /** Active milliseconds (since start, pauses excluded) when the current epoch began. */
  private epochStartedAt = 0;
  /** Active milliseconds when the latest batch ended. */
  private lastEnd = 0;

  constructor(
    private readonly shape: RunShape,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
  }

  /**
   * Restarts the clock before any batch was recorded, so set-up time (e.g.
   * connecting) does not count as the first batch's duration.
   */
  restart(): void {
    if (this.totalBatches === 0) this.startedAt = this.now();
  }

  /** Active (unpaused) time at `at`, milliseconds since the start. */
  private activeTime(at: number): number {
    return at - this.startedAt - this.pausedTotal;
  }

  /** Records that a batch finished at `atMs` (this tracker's clock; now by default). */
  recordBatch(epoch: number, atMs = this.now()): void {
    const active = this.activeTime(atMs);
    if (epoch !== this.currentEpoch) {
      this.currentEpoch = epoch;
      this.epochStartedAt = this.lastEnd;
    }
    if (this.count === 0) {
      // The first interval runs from the start of the run.
      this.ends[0] = 0;
      this.count = 1;
    }
    this.ends[this.count % this.ends.length] = active;
    this.count++;
    this.totalBatches++;
    this.lastEnd = active;
  }

  /** Excludes a pause from every figure (called by the gate when it reopens). */
  recordPause(durationMs: number): void {
    if (durationMs > 0) this.pausedTotal += durationMs;
  }

  /** Batches recorded so far. */
  get batches(): number {
    return this.totalBatches;
  }

  /**
   * Current figures, or undefined before the first batch.
   * @param done batches completed in the planned run, for the ETA
   */
  figures(done: number): PerformanceFigures | undefined {
    if (this.totalBatches === 0) return undefined;
    const slots = this.ends.length;
    const newest = this.ends[(this.count - 1) % slots]!;
    const intervals = Math.min(this.count - 1, PERFORMANCE_WINDOW);
    const oldest = this.ends[(this.count - 1 - intervals) % slots]!;
    const timePerBatchMs = (newest - oldest) / intervals;
    const elapsedSec = this.lastEnd / 1000;
    const planned = this.shape.totalEpochs * this.shape.batchesPerEpoch;
    const remaining = Math.max(0, planned - done);
    return {
      timePerBatchMs,
      totalTimeForEpochSec: (this.lastEnd - this.epochStartedAt) / 1000,
      estimatedTimeRemainingSec: (remaining * timePerBatchMs) / 1000,
      currentFps: timePerBatchMs > 0 ? 1000 / timePerBatchMs : 0,
      averageFps: elapsedSec > 0 ? this.totalBatches / elapsedSec : 0,
    };
  }
}

/** Process CPU use between calls, as a percentage of one core. */
export class CpuMeter {
  private last = process.cpuUsage();
  private lastAt: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.lastAt = now();
  }

  /** CPU percent since the previous call (or construction). */
  sample(): number {
    const at = this.now();
    const usage = process.cpuUsage(this.last);
    this.last = process.cpuUsage();
    const wallMicros = (at - this.lastAt) * 1000;
    this.lastAt = at;
    if (wallMicros <= 0) return 0;
    return ((usage.user + usage.system) / wallMicros) * 100;
  }
}
