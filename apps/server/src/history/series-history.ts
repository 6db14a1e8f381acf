import { create } from '@bufbuild/protobuf';
import {
  SeriesHistorySchema,
  SeriesKind,
  type SeriesHistory as SeriesHistoryMessage,
} from '@trainwatch/proto';

/** Buckets a history starts with; it grows by doubling up to its bound. */
const INITIAL_BUCKETS = 8;

/**
 * NaN sorts above everything: a diverging run's NaN is the spike a chart must
 * show, so it becomes a bucket's maximum and survives downsampling. Plain
 * `>` would never pick it (every comparison with NaN is false).
 */
const above = (a: number, b: number) => a > b || (Number.isNaN(a) && !Number.isNaN(b));
const below = (a: number, b: number) => a < b;

/**
 * One series of any length (loss, a named metric, a system series) kept in
 * bounded memory. Points fall into buckets of equal point count; each bucket
 * keeps its minimum and maximum with their steps and wall times, so a spike
 * survives however long the run. When the buckets are full, adjacent pairs
 * merge and each bucket covers twice as many points. At most `maxPoints`
 * points are ever kept (two per bucket).
 *
 * Buckets live in typed arrays (struct of arrays): adding a point allocates
 * nothing, and a bucket costs 56 bytes whatever the series.
 */
export class SeriesHistory {
  private count = new Float64Array(INITIAL_BUCKETS);
  private minStep = new BigInt64Array(INITIAL_BUCKETS);
  private maxStep = new BigInt64Array(INITIAL_BUCKETS);
  private minValue = new Float64Array(INITIAL_BUCKETS);
  private maxValue = new Float64Array(INITIAL_BUCKETS);
  private minTime = new Float64Array(INITIAL_BUCKETS);
  private maxTime = new Float64Array(INITIAL_BUCKETS);
  private buckets = 0;
  private maxBuckets: number;
  private pointsPerBucket = 1;
  private total = 0n;

  constructor(
    readonly name: string,
    readonly kind: SeriesKind,
    maxPoints: number,
  ) {
    this.maxBuckets = bucketsFor(maxPoints);
  }

  /** Points added so far (not the points kept). */
  get totalPoints(): bigint {
    return this.total;
  }

  /** Points kept at most (two per bucket). */
  get maxPoints(): number {
    return this.maxBuckets * 2;
  }

  /** Bytes the kept buckets' arrays take (for memory accounting and tests). */
  get allocatedBytes(): number {
    return this.count.length * 7 * 8;
  }

  add(step: bigint, value: number, timestampMs: number): void {
    this.total += 1n;
    const last = this.buckets - 1;
    if (last >= 0 && (this.count[last] as number) < this.pointsPerBucket) {
      this.count[last] = (this.count[last] as number) + 1;
      if (below(value, this.minValue[last] as number)) {
        this.minValue[last] = value;
        this.minStep[last] = step;
        this.minTime[last] = timestampMs;
      }
      if (above(value, this.maxValue[last] as number)) {
        this.maxValue[last] = value;
        this.maxStep[last] = step;
        this.maxTime[last] = timestampMs;
      }
      return;
    }
    if (this.buckets === this.count.length)
      this.resize(Math.min(this.count.length * 2, this.maxBuckets + 1));
    const index = this.buckets;
    this.count[index] = 1;
    this.minValue[index] = this.maxValue[index] = value;
    this.minStep[index] = this.maxStep[index] = step;
    this.minTime[index] = this.maxTime[index] = timestampMs;
    this.buckets += 1;
    while (this.buckets > this.maxBuckets) this.compact();
  }

  /**
   * Counts points this history summarises without holding them: a run
   * restored from the store is fed its points already bucketed.
   */
  countPointsNotAdded(points: bigint): void {
    this.total += points;
  }

  /**
   * Lowers (or raises) the bound; a lower one compacts at once, so memory
   * follows the bound, not only the next point.
   */
  setMaxPoints(maxPoints: number): void {
    this.maxBuckets = bucketsFor(maxPoints);
    while (this.buckets > this.maxBuckets) this.compact();
    if (this.count.length > this.maxBuckets + 1)
      this.resize(Math.max(this.buckets, INITIAL_BUCKETS));
  }

  /**
   * The kept points as parallel arrays, in the order they came. With
   * `maxPoints` smaller than what is kept, adjacent buckets are merged for
   * this message only (min and max survive), so a snapshot can carry a
   * coarser series; 0 leaves the points out (name, kind and total only).
   */
  toMessage(maxPoints = Number.POSITIVE_INFINITY): SeriesHistoryMessage {
    const steps: bigint[] = [];
    const values: number[] = [];
    const timestampsMs: bigint[] = [];
    const wanted = Math.floor(maxPoints / 2);
    if (wanted >= 1) {
      const group = Math.max(1, Math.ceil(this.buckets / wanted));
      for (let start = 0; start < this.buckets; start += group) {
        const end = Math.min(this.buckets, start + group);
        let min = start;
        let max = start;
        for (let index = start + 1; index < end; index++) {
          if (below(this.minValue[index] as number, this.minValue[min] as number)) min = index;
          if (above(this.maxValue[index] as number, this.maxValue[max] as number)) max = index;
        }
        const minStep = this.minStep[min] as bigint;
        const maxStep = this.maxStep[max] as bigint;
        const minFirst = minStep <= maxStep;
        const push = (which: 'min' | 'max', index: number) => {
          steps.push((which === 'min' ? this.minStep : this.maxStep)[index] as bigint);
          values.push((which === 'min' ? this.minValue : this.maxValue)[index] as number);
          timestampsMs.push(
            BigInt((which === 'min' ? this.minTime : this.maxTime)[index] as number),
          );
        };
        push(minFirst ? 'min' : 'max', minFirst ? min : max);
        if (min !== max || minStep !== maxStep)
          push(minFirst ? 'max' : 'min', minFirst ? max : min);
      }
    }
    return create(SeriesHistorySchema, {
      name: this.name,
      kind: this.kind,
      steps,
      values,
      timestampsMs,
      totalPoints: this.total,
    });
  }

  /** Merges adjacent bucket pairs in place, halving the bucket count. */
  private compact(): void {
    let out = 0;
    for (let index = 0; index < this.buckets; index += 2, out++) {
      const next = index + 1;
      this.copy(index, out);
      if (next >= this.buckets) continue;
      this.count[out] = (this.count[out] as number) + (this.count[next] as number);
      if (below(this.minValue[next] as number, this.minValue[out] as number)) {
        this.minValue[out] = this.minValue[next] as number;
        this.minStep[out] = this.minStep[next] as bigint;
        this.minTime[out] = this.minTime[next] as number;
      }
      if (above(this.maxValue[next] as number, this.maxValue[out] as number)) {
        this.maxValue[out] = this.maxValue[next] as number;
        this.maxStep[out] = this.maxStep[next] as bigint;
        this.maxTime[out] = this.maxTime[next] as number;
      }
    }
    this.buckets = out;
    this.pointsPerBucket *= 2;
  }

  private copy(from: number, to: number): void {
    if (from === to) return;
    this.count[to] = this.count[from] as number;
    this.minStep[to] = this.minStep[from] as bigint;
    this.maxStep[to] = this.maxStep[from] as bigint;
    this.minValue[to] = this.minValue[from] as number;
    this.maxValue[to] = this.maxValue[from] as number;
    this.minTime[to] = this.minTime[from] as number;
    this.maxTime[to] = this.maxTime[from] as number;
  }

  private resize(capacity: number): void {
    const grow = <T extends Float64Array | BigInt64Array>(array: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(array.subarray(0, Math.min(this.buckets, capacity)) as never);
      return next;
    };
    this.count = grow(this.count, (n) => new Float64Array(n));
    this.minStep = grow(this.minStep, (n) => new BigInt64Array(n));
    this.maxStep = grow(this.maxStep, (n) => new BigInt64Array(n));
    this.minValue = grow(this.minValue, (n) => new Float64Array(n));
    this.maxValue = grow(this.maxValue, (n) => new Float64Array(n));
    this.minTime = grow(this.minTime, (n) => new Float64Array(n));
    this.maxTime = grow(this.maxTime, (n) => new Float64Array(n));
  }
}

function bucketsFor(maxPoints: number): number {
  if (maxPoints < 2) throw new Error('a series history needs room for at least 2 points');
  return Math.floor(maxPoints / 2);
}
