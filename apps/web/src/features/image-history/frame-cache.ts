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

  has(step: number): boolean {
    return this.frames.has(step);
  }

  put(frame: ImageFrame): void {
    const step = Number(frame.step);
    this.frames.delete(step);
    this.frames.set(step, frame);
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
 * The steps to ask for around `index` (inclusive window of `radius` on each
 * side) that the cache does not hold yet; undefined when it holds them all.
 */
export function missingWindow(
  steps: readonly number[],
  index: number,
  radius: number,
  cache: FrameCache,
): { from: number; to: number; around: number } | undefined {
  const low = Math.max(0, index - radius);
  const high = Math.min(steps.length - 1, index + radius);
  let needed = false;
  for (let at = low; at <= high; at++) if (!cache.has(steps[at] as number)) needed = true;
  if (!needed) return undefined;
  return { from: steps[low] as number, to: steps[high] as number, around: steps[index] as number };
}
