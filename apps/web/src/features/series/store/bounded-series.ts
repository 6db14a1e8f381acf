/** Capacity a new series starts with; it doubles up to its `maxLength`. */
const INITIAL_CAPACITY = 64;

/**
 * One series as parallel typed arrays ordered by x (step or epoch), in the
 * spirit of a streaming data frame: any series uses it, whatever it
 * measures. Grows by doubling up to `maxLength`; when full, the oldest half
 * is downsampled 2:1 into buckets, as the server's history is: a bucket
 * keeps the x and value of its last point and, in two more columns, the
 * min and max of every point it covers (spikes survive as the chart's band),
 * and recording goes on, so memory stays flat however long the run is. The
 * min/max columns exist only once a series has been downsampled (a short
 * series costs two columns), and are as bounded as the others.
 *
 * Non-finite values are kept as NaN (a gap in the chart) and counted; a
 * bucket holding one has NaN as its value, so a gap is never smoothed away
 * (its min and max stay those of its finite points).
 */
export class BoundedSeries {
  private xBuffer: Float64Array;
  private yBuffer: Float64Array;
  /** Per point, the min and max of what it covers; allocated (at maxLength) on the first downsampling. */
  private minBuffer: Float64Array | undefined;
  private maxBuffer: Float64Array | undefined;
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

  /** Each point's bucket minimum; undefined while every point is exact (never downsampled). */
  get mins(): Float64Array | undefined {
    return this.minBuffer?.subarray(0, this.count);
  }

  /** Each point's bucket maximum; undefined while every point is exact. */
  get maxs(): Float64Array | undefined {
    return this.maxBuffer?.subarray(0, this.count);
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
    const value = finite ? y : Number.NaN;
    this.yBuffer[this.count] = value;
    if (this.minBuffer && this.maxBuffer) {
      this.minBuffer[this.count] = value;
      this.maxBuffer[this.count] = value;
    }
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
   * Every two points of the oldest half become one bucket: the x and value
   * of the later (NaN when either is a gap), the min and max of both.
   */
  private compactOldestHalf(): void {
    const half = this.maxLength / 2;
    const xs = this.xBuffer;
    const ys = this.yBuffer;
    if (!this.minBuffer || !this.maxBuffer) {
      this.minBuffer = Float64Array.from(ys);
      this.maxBuffer = Float64Array.from(ys);
    }
    const mins = this.minBuffer;
    const maxs = this.maxBuffer;
    let write = 0;
    for (let read = 0; read < half; read += 2) {
      const [a, b] = [read, read + 1];
      xs[write] = xs[b];
      ys[write] = Number.isNaN(ys[a]) ? Number.NaN : ys[b];
      mins[write] = finiteMin(mins[a], mins[b]);
      maxs[write] = finiteMax(maxs[a], maxs[b]);
      write++;
    }
    xs.copyWithin(write, half, this.count);
    ys.copyWithin(write, half, this.count);
    mins.copyWithin(write, half, this.count);
    maxs.copyWithin(write, half, this.count);
    this.count = write + (this.count - half);
  }
}

/** The smaller of two values, a NaN (a gap) ignored unless both are. */
function finiteMin(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return Math.min(a, b);
}

function finiteMax(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return Math.max(a, b);
}
