/**
 * Which stored image frames of a run to keep. Every frame of the last
 * `recentSteps` steps is kept; further back a frame at distance d from the
 * newest is kept only when its step is a multiple of the power of two at or
 * above d / recentSteps. Each doubling of age keeps about recentSteps / 2
 * frames, so a run holds about recentSteps * (1 + log2(steps / recentSteps) / 2)
 * frames: with a frame at every step and the default 256, ~1,800 frames for
 * 1,000,000 steps. As a frame ages its spacing only grows, and a multiple of
 * 2^(k+1) is a multiple of 2^k: a frame dropped once is never wanted again,
 * and what stays is spread evenly from the first step to the last.
 *
 * Past the per-run byte budget the recent window is halved until the kept
 * frames fit; if even one frame per doubling does not, the oldest go. The
 * newest frame is always kept.
 */

/** Recent steps whose every frame is kept (see above). */
export const RECENT_FRAME_STEPS = 256;

export interface StoredFrame {
  step: number;
  bytes: number;
  /** Its segment file, when it is in one (frame-files.ts); the policy does not look at it. */
  segment?: number | null;
}

export interface RetentionPolicy {
  recentSteps: number;
  budgetBytes: number;
}

/** Spacing a frame `distance` steps before the newest must be a multiple of, under `recentSteps`. */
export function frameSpacing(distance: number, recentSteps: number): number {
  if (distance < recentSteps) return 1;
  let spacing = 2;
  while (spacing * recentSteps <= distance) spacing *= 2;
  return spacing;
}

/**
 * The frames to drop from `frames` (sorted by step, ascending, unique), the
 * newest of them being the run's newest frame.
 */
export function framesToDrop(
  frames: readonly StoredFrame[],
  policy: RetentionPolicy,
): StoredFrame[] {
  if (frames.length <= 1) return [];
  const newest = (frames[frames.length - 1] as StoredFrame).step;
  let recent = Math.max(1, policy.recentSteps);
  // Runs on every commit over every stored frame of a run: one pass, one flag per frame.
  const keep = new Uint8Array(frames.length);
  for (;;) {
    let bytes = 0;
    for (let index = 0; index < frames.length; index++) {
      const frame = frames[index] as StoredFrame;
      const keepIt = kept(frame, newest, recent);
      keep[index] = keepIt ? 1 : 0;
      if (keepIt) bytes += frame.bytes;
    }
    if (bytes <= policy.budgetBytes) return frames.filter((_, index) => keep[index] === 0);
    if (recent > 1) {
      recent = Math.floor(recent / 2);
      continue;
    }
    // One frame per doubling still does not fit: drop the oldest kept until it does, never the newest.
    let total = bytes;
    for (let index = 0; index < frames.length - 1 && total > policy.budgetBytes; index++) {
      if (keep[index] === 1) {
        keep[index] = 0;
        total -= (frames[index] as StoredFrame).bytes;
      }
    }
    return frames.filter((_, index) => keep[index] === 0);
  }
}

function kept(frame: StoredFrame, newest: number, recentSteps: number): boolean {
  const spacing = frameSpacing(newest - frame.step, recentSteps);
  return spacing === 1 || frame.step % spacing === 0;
}
