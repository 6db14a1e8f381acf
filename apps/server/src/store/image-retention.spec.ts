import {
  RECENT_FRAME_STEPS,
  frameSpacing,
  framesToDrop,
  type StoredFrame,
} from './image-retention';

/** Simulates a run storing a frame at each of `steps`, applying the policy after each. */
function run(
  steps: Iterable<number>,
  budgetBytes = Number.MAX_SAFE_INTEGER,
  bytes = 1000,
): StoredFrame[] {
  let frames: StoredFrame[] = [];
  let sinceThin = 0;
  for (const step of steps) {
    frames.push({ step, bytes });
    // The writer applies the policy once per flush; every 64 frames stands in for that here.
    if (++sinceThin === 64) {
      sinceThin = 0;
      const drop = new Set(framesToDrop(frames, { recentSteps: RECENT_FRAME_STEPS, budgetBytes }));
      frames = frames.filter((frame) => !drop.has(frame));
    }
  }
  const drop = new Set(framesToDrop(frames, { recentSteps: RECENT_FRAME_STEPS, budgetBytes }));
  return frames.filter((frame) => !drop.has(frame));
}

function* range(from: number, to: number, every = 1): Generator<number> {
  for (let step = from; step < to; step += every) yield step;
}

describe('image retention', () => {
  it('keeps every frame of the recent past', () => {
    const kept = run(range(0, 10_000)).map((frame) => frame.step);
    for (let step = 10_000 - RECENT_FRAME_STEPS; step < 10_000; step++)
      expect(kept).toContain(step);
  });

  it('keeps at most ~2,000 frames of a 1,000,000-step run with a frame at every step, spread from first to last', () => {
    const kept = run(range(0, 1_000_000)).map((frame) => frame.step);
    expect(kept.length).toBeLessThanOrEqual(2000);
    expect(kept.length).toBeGreaterThan(1500);
    expect(kept[0]).toBe(0);
    expect(kept[kept.length - 1]).toBe(999_999);
    // No gap wider than the spacing of the oldest band: scrubbing finds a frame everywhere.
    const widest = Math.max(...kept.slice(1).map((step, index) => step - (kept[index] as number)));
    expect(widest).toBeLessThanOrEqual(frameSpacing(1_000_000, RECENT_FRAME_STEPS));
  });

  it('never wants back a frame it dropped: thinning in one go equals thinning as the run goes', () => {
    const incremental = run(range(0, 50_000, 3)).map((frame) => frame.step);
    const frames = [...range(0, 50_000, 3)].map((step) => ({ step, bytes: 1 }));
    const drop = new Set(
      framesToDrop(frames, { recentSteps: RECENT_FRAME_STEPS, budgetBytes: 1e12 }).map(
        (f) => f.step,
      ),
    );
    expect(incremental).toEqual(
      frames.map((frame) => frame.step).filter((step) => !drop.has(step)),
    );
  });

  it('thins harder to stay within the per-run byte budget, keeping the newest frame', () => {
    const budget = 100 * 1000;
    const kept = run(range(0, 100_000), budget);
    expect(kept.reduce((sum, frame) => sum + frame.bytes, 0)).toBeLessThanOrEqual(budget);
    expect(kept[kept.length - 1]?.step).toBe(99_999);
    expect(kept.length).toBeGreaterThan(10);
  });

  it('keeps only the newest frame when one frame is all the budget holds', () => {
    const frames = [0, 1, 2].map((step) => ({ step, bytes: 10 }));
    expect(framesToDrop(frames, { recentSteps: 256, budgetBytes: 10 }).map((f) => f.step)).toEqual([
      0, 1,
    ]);
  });
});
