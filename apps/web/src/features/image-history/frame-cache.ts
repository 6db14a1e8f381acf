import type { ImageFrame } from '@trainwatch/proto';

/** Stored frames the scrubber keeps in the page (a frame of 16 small JPEGs is tens of KiB). */
export const MAX_CACHED_FRAMES = 48;

/** Frames by step, least recently used dropped past MAX_CACHED_FRAMES. */
export class FrameCache {
  private readonly frames = new Map<number, ImageFrame>();

  constructor(private readonly limit = MAX_CACHED_FRAMES) {}

  get(step: number): ImageFrame | undefined {
    const frame = this.frames.get(step);
    if (frame !== undefined) {
      // Most recently used last.
      this.frames.delete(step);
      this.frames.set(step, frame);
    }
    return frame;
  }

  /** The frame held at `step`, without counting as a use. */
  peek(step: number): ImageFrame | undefined {
    return this.frames.get(step);
  }

  has(step: number): boolean {
    return this.frames.has(step);
  }

  put(frame: ImageFrame): void {
    const step = Number(frame.step);
    // A stored frame never changes: the copy held stays (an answer that sends it again must not
    // hand the tiles new bytes of the same pictures while they decode the held ones).
    const held = this.frames.get(step);
    this.frames.delete(step);
    this.frames.set(step, held ?? frame);
    while (this.frames.size > this.limit) {
      const oldest = this.frames.keys().next().value as number;
      this.frames.delete(oldest);
    }
  }

  clear(): void {
    this.frames.clear();
  }

  get size(): number {
    return this.frames.size;
  }
}

/**
 * Frames held ahead of the cursor in the direction it moves by single steps
 * (arrow keys); more are asked once fewer than half of them are held. Half
 * of 16 is eight presses of lead: time for the answer and for decoding its
 * pictures ahead (a few at a time) before the cursor reaches them.
 */
export const PREFETCH_AHEAD = 16;

/** What to ask GetImageFrames for: a span of stored steps, nearest `around` first. */
export interface FrameWindow {
  from: number;
  to: number;
  around: number;
  /** Stored steps in [from, to]: the frames to ask for. */
  frames: number;
}

/**
 * The steps to ask for around `index`, or undefined when the cache holds
 * every frame within `radius` of it. `direction` is +1 or -1 while the
 * cursor moves one stored frame at a time, 0 after a jump: moving, the
 * window reaches `ahead` frames in that direction, so one answer covers the
 * next several presses and is asked for while `ahead / 2` frames are still
 * held (a press never waits for the network or a decode); a jump asks
 * `radius` on each side. Only the span from the first to the last missing step is asked.
 */
export function prefetchWindow(
  steps: readonly number[],
  index: number,
  direction: number,
  cache: FrameCache,
  radius: number,
  ahead = PREFETCH_AHEAD,
): FrameWindow | undefined {
  if (steps.length === 0) return undefined;
  const reach = Math.max(radius, Math.floor(ahead / 2));
  const near = (at: number) =>
    at >= Math.max(0, index - (direction < 0 ? reach : radius)) &&
    at <= Math.min(steps.length - 1, index + (direction > 0 ? reach : radius));
  const low = Math.max(0, index - (direction < 0 ? Math.max(ahead, radius) : radius));
  const high = Math.min(
    steps.length - 1,
    index + (direction > 0 ? Math.max(ahead, radius) : radius),
  );
  let first = -1;
  let last = -1;
  let nearMissing = false;
  for (let at = low; at <= high; at++) {
    if (cache.has(steps[at] as number)) continue;
    if (first < 0) first = at;
    last = at;
    if (near(at)) nearMissing = true;
  }
  if (!nearMissing) return undefined;
  return {
    from: steps[first] as number,
    to: steps[last] as number,
    around: steps[index] as number,
    frames: last - first + 1,
  };
}
