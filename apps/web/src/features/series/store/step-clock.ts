/**
 * Step/wall-time pairs a page keeps to draw a series against wall time or
 * time since the start: 4,096 pairs interpolate the clock of any run well
 * (when full, every other pair is dropped; a clock is smooth between them).
 */
export const MAX_CLOCK_POINTS = 4096;

/**
 * When each step happened, for runs whose series keep only steps: the
 * session page notes the wall time of every batch and scalar point; the
 * compare view builds one per run from QuerySeries timestamps. Lookups
 * interpolate between the pairs held and extrapolate from the end ones.
 */
export class StepClock {
  private steps: Float64Array;
  private times: Float64Array;
  private count = 0;

  constructor(private readonly maxLength = MAX_CLOCK_POINTS) {
    if (maxLength < 4 || maxLength % 2 !== 0) {
      throw new RangeError(`maxLength must be even and at least 4, got ${maxLength}`);
    }
    this.steps = new Float64Array(Math.min(64, maxLength));
    this.times = new Float64Array(this.steps.length);
  }

  get length(): number {
    return this.count;
  }

  /** Wall time (Unix ms) of the first step held, NaN when empty. */
  get startMs(): number {
    return this.count === 0 ? Number.NaN : this.times[0];
  }

  /** Notes when `step` happened; ignored unless after the last step noted, or without a time. */
  note(step: number, timeMs: number): void {
    if (!(timeMs > 0) || (this.count > 0 && !(step > this.steps[this.count - 1]))) return;
    if (this.count === this.steps.length) this.makeRoom();
    this.steps[this.count] = step;
    // A clock that went backwards (another machine) would fold the axis: hold it still instead.
    this.times[this.count] = this.count > 0 ? Math.max(timeMs, this.times[this.count - 1]) : timeMs;
    this.count++;
  }

  /** Wall time (Unix ms) at `step`, NaN when nothing was noted. */
  timeAt(step: number): number {
    return interpolate(this.steps, this.times, this.count, step);
  }

  /** Step at wall time `timeMs` (the inverse of timeAt), NaN when nothing was noted. */
  stepAt(timeMs: number): number {
    return interpolate(this.times, this.steps, this.count, timeMs);
  }

  private makeRoom(): void {
    if (this.steps.length < this.maxLength) {
      const size = Math.min(this.steps.length * 2, this.maxLength);
      const steps = new Float64Array(size);
      const times = new Float64Array(size);
      steps.set(this.steps);
      times.set(this.times);
      this.steps = steps;
      this.times = times;
      return;
    }
    // Keep every other pair and the newest.
    let write = 0;
    for (let read = 0; read < this.count - 1; read += 2, write++) {
      this.steps[write] = this.steps[read];
      this.times[write] = this.times[read];
    }
    this.steps[write] = this.steps[this.count - 1];
    this.times[write] = this.times[this.count - 1];
    this.count = write + 1;
  }
}

/** y at x on the polyline (xs ascending), extended along its first and last segments. */
function interpolate(xs: Float64Array, ys: Float64Array, count: number, x: number): number {
  if (count === 0) return Number.NaN;
  if (count === 1) return ys[0];
  let high = 1;
  if (x >= xs[count - 1]) high = count - 1;
  else if (x > xs[0]) {
    let low = 0;
    high = count - 1;
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (xs[middle] <= x) low = middle;
      else high = middle;
    }
  }
  const x0 = xs[high - 1];
  const x1 = xs[high];
  if (x1 === x0) return ys[high];
  return ys[high - 1] + ((x - x0) * (ys[high] - ys[high - 1])) / (x1 - x0);
}
