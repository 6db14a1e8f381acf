import { create } from '@bufbuild/protobuf';
import { LossHistorySchema, type LossHistory as LossHistoryMessage } from '@trainwatch/proto';

interface Bucket {
  count: number;
  minStep: bigint;
  minLoss: number;
  maxStep: bigint;
  maxLoss: number;
}

/**
 * A loss curve of any length kept in bounded memory. Points fall into
 * buckets of equal point count; each bucket keeps its minimum and maximum,
 * so a spike survives however long the run. When the buckets are full,
 * adjacent pairs merge and each bucket covers twice as many points.
 * At most `maxPoints` points are ever emitted.
 */
export class LossHistory {
  private readonly buckets: Bucket[] = [];
  private readonly maxBuckets: number;
  private pointsPerBucket = 1;
  private total = 0n;

  constructor(maxPoints: number) {
    if (maxPoints < 2) throw new Error('a loss history needs room for at least 2 points');
    this.maxBuckets = Math.floor(maxPoints / 2);
  }

  /** Points added so far (not the points kept). */
  get totalPoints(): bigint {
    return this.total;
  }

  add(step: bigint, loss: number): void {
    this.total += 1n;
    const last = this.buckets[this.buckets.length - 1];
    if (last !== undefined && last.count < this.pointsPerBucket) {
      last.count += 1;
      if (loss < last.minLoss) [last.minLoss, last.minStep] = [loss, step];
      if (loss > last.maxLoss) [last.maxLoss, last.maxStep] = [loss, step];
      return;
    }
    this.buckets.push({ count: 1, minStep: step, minLoss: loss, maxStep: step, maxLoss: loss });
    if (this.buckets.length > this.maxBuckets) this.compact();
  }

  /**
   * The kept points as parallel arrays, ordered by step. With `maxPoints`
   * smaller than what is kept, adjacent buckets are merged for this message
   * only (min and max survive), so a snapshot can carry a coarser curve.
   */
  toMessage(maxPoints = Number.POSITIVE_INFINITY): LossHistoryMessage {
    const group = Math.max(
      1,
      Math.ceil(this.buckets.length / Math.max(1, Math.floor(maxPoints / 2))),
    );
    const buckets: Bucket[] = [];
    for (let index = 0; index < this.buckets.length; index += group) {
      buckets.push(this.buckets.slice(index, index + group).reduce(mergeBuckets));
    }
    const steps: bigint[] = [];
    const losses: number[] = [];
    for (const bucket of buckets) {
      const minFirst = bucket.minStep <= bucket.maxStep;
      const first = minFirst ? [bucket.minStep, bucket.minLoss] : [bucket.maxStep, bucket.maxLoss];
      const second = minFirst ? [bucket.maxStep, bucket.maxLoss] : [bucket.minStep, bucket.minLoss];
      steps.push(first[0] as bigint);
      losses.push(first[1] as number);
      if (bucket.minStep !== bucket.maxStep) {
        steps.push(second[0] as bigint);
        losses.push(second[1] as number);
      }
    }
    return create(LossHistorySchema, { steps, losses, totalPoints: this.total });
  }

  /** Merges adjacent bucket pairs, halving the bucket count. */
  private compact(): void {
    const merged: Bucket[] = [];
    for (let index = 0; index < this.buckets.length; index += 2) {
      const a = this.buckets[index] as Bucket;
      const b = this.buckets[index + 1];
      merged.push(b === undefined ? a : mergeBuckets(a, b));
    }
    // Copied back one by one: spreading up to 500,000 buckets as call arguments overflows the stack.
    this.buckets.length = merged.length;
    merged.forEach((bucket, index) => (this.buckets[index] = bucket));
    this.pointsPerBucket *= 2;
  }
}

/** One bucket covering `a` then `b`, keeping the lower minimum and the higher maximum. */
function mergeBuckets(a: Bucket, b: Bucket): Bucket {
  return {
    count: a.count + b.count,
    ...(b.minLoss < a.minLoss
      ? { minStep: b.minStep, minLoss: b.minLoss }
      : { minStep: a.minStep, minLoss: a.minLoss }),
    ...(b.maxLoss > a.maxLoss
      ? { maxStep: b.maxStep, maxLoss: b.maxLoss }
      : { maxStep: a.maxStep, maxLoss: a.maxLoss }),
  };
}
