/** Capacity a new series starts with; it doubles up to its `maxLength`. */
const INITIAL_CAPACITY = 64;

/**
 * One series as two parallel typed arrays ordered by x (step or epoch), in
 * the spirit of a streaming data frame: any series uses it, whatever it
 * measures. Grows by doubling up to `maxLength`; when full, the oldest half
 * is downsampled 2:1 keeping each group's min and max (spikes survive, like
 * the server's history) and recording goes on, so memory stays flat however
 * long the run is.
 *
 * Non-finite values are kept as NaN (a gap in the chart) and counted; a
 * group holding one keeps it through downsampling, so a gap is never
 * smoothed away.
 */
export class BoundedSeries {
  private xBuffer: Float64Array;
  private yBuffer: Float64Array;
  private count = 0;
  /** Non-finite values appended so far (NaN, +/-Infinity). */
  nonFinite = 0;
  /** Bumped on every change, so readers can tell whether to redraw. */
  revision = 0;

  constructor(readonly maxLength: number) {
    if (!Number.isInteger(maxLength) || maxLength < 8 || maxLength % 4 !== 0) {
      throw new RangeError(`maxLength must be a multiple of 4 and at least 8, got ${maxLength}`);
    }
    const initial = Math.min(INITIAL_CAPACITY, maxLength);
    this.xBuffer = new Float64Array(initial);
    this.yBuffer = new Float64Array(initial);
  }

  get length(): number {
    return this.count;
  }

  /** x of the newest point, or -Infinity when empty. */
  get lastX(): number {
    return this.count === 0 ? -Infinity : this.xBuffer[this.count - 1];
  }

  /** y of the newest point (NaN when it was not finite), undefined when empty. */
  get lastY(): number | undefined {
    return this.count === 0 ? undefined : this.yBuffer[this.count - 1];
  }

  /** Views (no copy) over the points kept; valid until the next append. */
  get xs(): Float64Array {
    return this.xBuffer.subarray(0, this.count);
  }

  get ys(): Float64Array {
    return this.yBuffer.subarray(0, this.count);
  }

  /**
   * Appends one point when its x is after the newest one; returns false (and
   * keeps nothing) for an x already covered, which is how replays and
   * reconnect snapshots merge without duplicates.
   */
  append(x: number, y: number): boolean {
    if (!(x > this.lastX)) return false;
    if (this.count === this.xBuffer.length) this.makeRoom();
    const finite = Number.isFinite(y);
    if (!finite) this.nonFinite++;
    this.xBuffer[this.count] = x;
    // Infinity would stretch the axis to nothing; NaN is a gap.
    this.yBuffer[this.count] = finite ? y : Number.NaN;
    this.count++;
    this.revision++;
    return true;
  }

  private makeRoom(): void {
    if (this.xBuffer.length < this.maxLength) {
      const size = Math.min(this.xBuffer.length * 2, this.maxLength);
      const xs = new Float64Array(size);
      const ys = new Float64Array(size);
      xs.set(this.xs);
      ys.set(this.ys);
      this.xBuffer = xs;
      this.yBuffer = ys;
      return;
    }
    this.compactOldestHalf();
  }

  /**
   * Every four points of the oldest half become two, in x order: the min and
   * max, or, where the group has a gap, its lowest finite point and the gap.
   */
  private compactOldestHalf(): void {
    const half = this.maxLength / 2;
    const xs = this.xBuffer;
    const ys = this.yBuffer;
    let write = 0;
    for (let read = 0; read < half; read += 4) {
      let min = -1;
      let max = -1;
      let gap = -1;
      for (let i = read; i < read + 4; i++) {
        const y = ys[i];
        if (Number.isNaN(y)) {
          if (gap < 0) gap = i;
          continue;
        }
        if (min < 0 || y < ys[min]) min = i;
        if (max < 0 || y > ys[max]) max = i;
      }
      if (gap >= 0) max = gap;
      if (min < 0) min = max;
      const first = Math.min(min, max);
      const second = Math.max(min, max);
      xs[write] = xs[first];
      ys[write] = ys[first];
      write++;
      if (second !== first) {
        xs[write] = xs[second];
        ys[write] = ys[second];
        write++;
      }
    }
    xs.copyWithin(write, half, this.count);
    ys.copyWithin(write, half, this.count);
    this.count = write + (this.count - half);
  }
}
