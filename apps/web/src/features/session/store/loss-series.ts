/**
 * Most loss points the browser keeps for one session. When full, the oldest
 * half is downsampled 2:1 (min and max of every four points survive, so
 * spikes stay visible) and recording goes on: memory stays flat however long
 * the run is.
 */
export const MAX_LOSS_POINTS = 20_000;

const INITIAL_CAPACITY = 1024;

/**
 * A loss curve as two parallel typed arrays ordered by step. Grows by
 * doubling up to `maxPoints`, then compacts its oldest half.
 */
export class LossSeries {
  private stepsBuffer: Float64Array;
  private lossesBuffer: Float64Array;
  private count = 0;
  /** Bumped on every change, so readers can tell whether to redraw. */
  revision = 0;

  constructor(readonly maxPoints: number = MAX_LOSS_POINTS) {
    if (!Number.isInteger(maxPoints) || maxPoints < 8 || maxPoints % 4 !== 0) {
      throw new RangeError(`maxPoints must be a multiple of 4 and at least 8, got ${maxPoints}`);
    }
    const initial = Math.min(INITIAL_CAPACITY, maxPoints);
    this.stepsBuffer = new Float64Array(initial);
    this.lossesBuffer = new Float64Array(initial);
  }

  get length(): number {
    return this.count;
  }

  /** Step of the newest point, or -Infinity when empty. */
  get lastStep(): number {
    return this.count === 0 ? -Infinity : this.stepsBuffer[this.count - 1];
  }

  /** Views (no copy) over the points kept; valid until the next append. */
  get steps(): Float64Array {
    return this.stepsBuffer.subarray(0, this.count);
  }

  get losses(): Float64Array {
    return this.lossesBuffer.subarray(0, this.count);
  }

  /**
   * Appends one point when its step is after the newest one; returns false
   * (and keeps nothing) for a step already covered, which is how replays and
   * reconnect snapshots are merged without duplicates.
   */
  append(step: number, loss: number): boolean {
    if (!(step > this.lastStep) || !Number.isFinite(loss)) return false;
    if (this.count === this.stepsBuffer.length) this.makeRoom();
    this.stepsBuffer[this.count] = step;
    this.lossesBuffer[this.count] = loss;
    this.count++;
    this.revision++;
    return true;
  }

  clear(): void {
    this.count = 0;
    this.revision++;
  }

  private makeRoom(): void {
    if (this.stepsBuffer.length < this.maxPoints) {
      const size = Math.min(this.stepsBuffer.length * 2, this.maxPoints);
      const steps = new Float64Array(size);
      const losses = new Float64Array(size);
      steps.set(this.steps);
      losses.set(this.losses);
      this.stepsBuffer = steps;
      this.lossesBuffer = losses;
      return;
    }
    this.compactOldestHalf();
  }

  /** Every four of the oldest half become their min and max, in step order. */
  private compactOldestHalf(): void {
    const half = this.maxPoints / 2;
    const steps = this.stepsBuffer;
    const losses = this.lossesBuffer;
    let write = 0;
    for (let read = 0; read < half; read += 4) {
      let min = read;
      let max = read;
      for (let i = read + 1; i < read + 4; i++) {
        if (losses[i] < losses[min]) min = i;
        if (losses[i] > losses[max]) max = i;
      }
      const [first, second] = min <= max ? [min, max] : [max, min];
      steps[write] = steps[first];
      losses[write] = losses[first];
      write++;
      if (second !== first) {
        steps[write] = steps[second];
        losses[write] = losses[second];
        write++;
      }
    }
    steps.copyWithin(write, half, this.count);
    losses.copyWithin(write, half, this.count);
    this.count = write + (this.count - half);
  }
}
