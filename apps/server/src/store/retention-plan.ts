import { lowerBound } from '../common/sorted-numbers';
import {
  frameSpacing,
  framesToDrop,
  type RetentionPolicy,
  type StoredFrame,
} from './image-retention';

/**
 * What one commit does to a run's stored frames under the retention policy
 * (image-retention.ts): the steps it drops (stored ones to delete, new ones
 * not to insert) and the run's frame count and bytes afterwards.
 */
export interface RetentionPlan {
  /** The commit's frames of this run (a step already stored replaces it). */
  readonly incoming: readonly StoredFrame[];
  readonly dropped: ReadonlySet<number>;
  readonly count: number;
  readonly bytes: number;
  /** Frames the policy looked at: stays near the incoming count however many frames the run stores. */
  readonly examined: number;
}

/**
 * One run's stored frames (steps ascending, unique) as the writer remembers
 * them between commits, with their count and bytes.
 *
 * Every commit used to re-apply the policy to every stored frame of the run
 * (~2,000 on a long run: ~3% of the event loop at 38 trainers, CPU profile).
 * But a stored frame was kept at the previous newest step, and whether it is
 * kept changes only when its distance from the newest crosses a spacing
 * boundary (recentSteps × 2^k): as the newest step moves from P to N, only the
 * frames in (P − b, N − b] for each boundary b can change, about (N − P) ×
 * log2(steps / recentSteps) / spacing of them. planRetention looks at those
 * and at the commit's own frames. Past the byte budget the policy re-plans
 * the whole run (the recent window shrinks, so every distance changes).
 */
export class RunFrames {
  private readonly steps: number[] = [];
  private readonly sizes: number[] = [];
  /** Segment file of each frame (frame-files.ts), -1 for a frame stored in its row. */
  private readonly segments: number[] = [];
  private totalBytes = 0;
  /**
   * Whether every frame held was kept by the policy at the newest step (true
   * once a plan was applied): frames read back from the store are planned
   * whole the first time, whatever policy stored them.
   */
  private checked = false;

  /** Frames as read from the store, sorted by step. */
  static from(frames: readonly StoredFrame[]): RunFrames {
    const run = new RunFrames();
    for (const frame of frames) {
      run.steps.push(frame.step);
      run.sizes.push(frame.bytes);
      run.segments.push(frame.segment ?? -1);
      run.totalBytes += frame.bytes;
    }
    return run;
  }

  get count(): number {
    return this.steps.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get verified(): boolean {
    return this.checked;
  }

  has(step: number): boolean {
    const index = lowerBound(this.steps, step);
    return this.steps[index] === step;
  }

  /** Bytes of the stored frame at `step` (0 when none). */
  sizeOf(step: number): number {
    const index = lowerBound(this.steps, step);
    return this.steps[index] === step ? (this.sizes[index] as number) : 0;
  }

  /** Segment file of the stored frame at `step`: -1 when it is stored in its row or not stored. */
  segmentOf(step: number): number {
    const index = lowerBound(this.steps, step);
    return this.steps[index] === step ? (this.segments[index] as number) : -1;
  }

  /** The frames held, oldest first (with their segment file when they are in one). */
  frames(): StoredFrame[] {
    return this.steps.map((step, index) => {
      const segment = this.segments[index] as number;
      const bytes = this.sizes[index] as number;
      return segment >= 0 ? { step, bytes, segment } : { step, bytes };
    });
  }

  /** Applies a plan made from this run (after its commit succeeded). */
  apply(plan: RetentionPlan): void {
    for (const step of plan.dropped) this.remove(step);
    for (const frame of plan.incoming) {
      if (plan.dropped.has(frame.step)) continue;
      const index = lowerBound(this.steps, frame.step);
      if (this.steps[index] === frame.step) {
        this.totalBytes += frame.bytes - (this.sizes[index] as number);
        this.sizes[index] = frame.bytes;
        this.segments[index] = frame.segment ?? -1;
      } else {
        // Almost always the end of the array: new steps come after the stored ones.
        this.steps.splice(index, 0, frame.step);
        this.sizes.splice(index, 0, frame.bytes);
        this.segments.splice(index, 0, frame.segment ?? -1);
        this.totalBytes += frame.bytes;
      }
    }
    this.checked = true;
  }

  /** Index range [from, to) of the frames with from < step <= to. */
  stepRange(after: number, upTo: number): [number, number] {
    return [upperBound(this.steps, after), upperBound(this.steps, upTo)];
  }

  stepAt(index: number): number {
    return this.steps[index] as number;
  }

  sizeAt(index: number): number {
    return this.sizes[index] as number;
  }

  private remove(step: number): void {
    const index = lowerBound(this.steps, step);
    if (this.steps[index] !== step) return;
    this.totalBytes -= this.sizes[index] as number;
    this.steps.splice(index, 1);
    this.sizes.splice(index, 1);
    this.segments.splice(index, 1);
  }
}

/**
 * The policy's result for `run` plus `incoming` (unique steps, any order),
 * identical to framesToDrop over all of them, without changing `run`.
 */
export function planRetention(
  run: RunFrames,
  incoming: readonly StoredFrame[],
  policy: RetentionPolicy,
): RetentionPlan {
  if (!run.verified) return wholePlan(run, incoming, policy);
  const recent = Math.max(1, policy.recentSteps);
  const previousNewest = run.count > 0 ? run.stepAt(run.count - 1) : -Infinity;
  let newest = previousNewest;
  for (const frame of incoming) if (frame.step > newest) newest = frame.step;
  const incomingSteps = new Set<number>();
  const dropped = new Set<number>();
  let count = run.count;
  let bytes = run.bytes;
  let examined = 0;
  for (const frame of incoming) {
    incomingSteps.add(frame.step);
    if (run.has(frame.step)) {
      // A re-sent step: the stored frame gives way to the new one, planned below with the others.
      count -= 1;
      bytes -= run.sizeOf(frame.step);
    }
  }
  if (run.count > 0 && newest > previousNewest) {
    const oldest = run.stepAt(0);
    // Bands behind each boundary, nearest first: their step ranges go down, so clamp each below the last.
    let limit = run.count;
    for (let boundary = recent; newest - boundary >= oldest; boundary *= 2) {
      const [from, to] = run.stepRange(previousNewest - boundary, newest - boundary);
      for (let index = from; index < Math.min(to, limit); index++) {
        examined += 1;
        const step = run.stepAt(index);
        if (incomingSteps.has(step) || kept(step, newest, recent)) continue;
        dropped.add(step);
        count -= 1;
        bytes -= run.sizeAt(index);
      }
      limit = Math.min(limit, from);
    }
  }
  for (const frame of incoming) {
    examined += 1;
    if (kept(frame.step, newest, recent)) {
      count += 1;
      bytes += frame.bytes;
    } else {
      dropped.add(frame.step);
    }
  }
  if (bytes > policy.budgetBytes && count > 1) {
    // Over the budget the recent window shrinks: every distance is judged again.
    const whole = wholePlan(run, incoming, policy);
    return { ...whole, examined: examined + whole.examined };
  }
  return { incoming, dropped, count, bytes, examined };
}

/** framesToDrop over every stored and incoming frame. */
function wholePlan(
  run: RunFrames,
  incoming: readonly StoredFrame[],
  policy: RetentionPolicy,
): RetentionPlan {
  const incomingSteps = new Set(incoming.map((frame) => frame.step));
  const merged = run.frames().filter((frame) => !incomingSteps.has(frame.step));
  for (const frame of incoming) merged.push(frame);
  merged.sort((a, b) => a.step - b.step);
  const dropped = new Set(framesToDrop(merged, policy).map((frame) => frame.step));
  let bytes = 0;
  for (const frame of merged) if (!dropped.has(frame.step)) bytes += frame.bytes;
  return {
    incoming,
    dropped,
    count: merged.length - dropped.size,
    bytes,
    examined: merged.length,
  };
}

function kept(step: number, newest: number, recentSteps: number): boolean {
  const spacing = frameSpacing(newest - step, recentSteps);
  return spacing === 1 || step % spacing === 0;
}

/** First index whose step is > `step`. */
function upperBound(steps: readonly number[], step: number): number {
  let low = 0;
  let high = steps.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((steps[middle] as number) <= step) low = middle + 1;
    else high = middle;
  }
  return low;
}
