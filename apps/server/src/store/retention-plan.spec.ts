import {
  RECENT_FRAME_STEPS,
  framesToDrop,
  type RetentionPolicy,
  type StoredFrame,
} from './image-retention';
import { planRetention, RunFrames } from './retention-plan';

/** A small deterministic generator, so a failure replays. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** What the writer did before: the policy over every stored and incoming frame. */
function reference(
  stored: readonly StoredFrame[],
  incoming: readonly StoredFrame[],
  policy: RetentionPolicy,
): StoredFrame[] {
  const steps = new Set(incoming.map((frame) => frame.step));
  const merged = [...stored.filter((frame) => !steps.has(frame.step)), ...incoming].sort(
    (a, b) => a.step - b.step,
  );
  const dropped = new Set(framesToDrop(merged, policy).map((frame) => frame.step));
  return merged.filter((frame) => !dropped.has(frame.step));
}

/** Commits of `perCommit` frames at every `every` steps, as a trainer sends them. */
function* commits(steps: number, perCommit: number, every = 1): Generator<StoredFrame[]> {
  let batch: StoredFrame[] = [];
  for (let step = 0; step < steps; step += every) {
    batch.push({ step, bytes: 1000 });
    if (batch.length === perCommit) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

describe('retention plan', () => {
  const unbounded = { recentSteps: RECENT_FRAME_STEPS, budgetBytes: Number.MAX_SAFE_INTEGER };

  it('keeps exactly what the policy over every frame keeps, commit after commit', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const next = random(seed);
      // Half the runs are held to a byte budget, so the recent window shrinks and re-plans.
      const policy = {
        recentSteps: RECENT_FRAME_STEPS,
        budgetBytes: seed % 2 === 0 ? 400_000 : Number.MAX_SAFE_INTEGER,
      };
      const run = new RunFrames();
      let expected: StoredFrame[] = [];
      let newest = 0;
      for (let commit = 0; commit < 1500; commit++) {
        const incoming = new Map<number, StoredFrame>();
        const count = 1 + Math.floor(next() * 20);
        for (let index = 0; index < count; index++) {
          // Mostly new steps with gaps, sometimes a re-sent or late step of the recent past.
          const step =
            next() < 0.1
              ? Math.max(0, newest - Math.floor(next() * 600))
              : (newest += 1 + Math.floor(next() * 4));
          incoming.set(step, { step, bytes: 500 + Math.floor(next() * 1500) });
        }
        const frames = [...incoming.values()];
        const plan = planRetention(run, frames, policy);
        expected = reference(expected, frames, policy);
        run.apply(plan);
        const bytes = expected.reduce((sum, frame) => sum + frame.bytes, 0);
        // One cheap comparison per commit; the full one (with a readable diff) only when it differs.
        const same =
          JSON.stringify(run.frames()) === JSON.stringify(expected) &&
          plan.count === expected.length &&
          plan.bytes === bytes &&
          run.bytes === bytes;
        if (!same) {
          expect({
            seed,
            commit,
            frames: run.frames(),
            count: plan.count,
            bytes: run.bytes,
          }).toEqual({ seed, commit, frames: expected, count: expected.length, bytes });
        }
      }
    }
  });

  it('plans frames read back from the store whole, whatever policy stored them', () => {
    const stored = [...Array(3000).keys()].map((step) => ({ step, bytes: 10 }));
    const run = RunFrames.from(stored);
    const incoming = [{ step: 3000, bytes: 10 }];
    const plan = planRetention(run, incoming, unbounded);
    run.apply(plan);
    expect(run.frames()).toEqual(reference(stored, incoming, unbounded));
    expect(plan.examined).toBe(3001);
  });

  it('looks at a few dozen frames per commit on a run storing ~2,000, not at every stored frame', () => {
    const run = new RunFrames();
    let examined = 0;
    let plans = 0;
    let stored = 0;
    for (const incoming of commits(1_000_000, 16)) {
      const plan = planRetention(run, incoming, unbounded);
      run.apply(plan);
      if (run.count >= 1500) {
        stored = Math.max(stored, run.count);
        examined = Math.max(examined, plan.examined);
        plans += 1;
      }
    }
    expect(plans).toBeGreaterThan(10_000);
    expect(stored).toBeGreaterThanOrEqual(1500);
    expect(stored).toBeLessThanOrEqual(2000);
    // 16 new frames, 16 in the band at the recent window's edge, fewer at each farther boundary.
    expect(examined).toBeLessThanOrEqual(80);
  });

  it('re-plans the whole run only when the byte budget binds', () => {
    const run = new RunFrames();
    const policy = { recentSteps: RECENT_FRAME_STEPS, budgetBytes: 100 * 1000 };
    let last = planRetention(run, [], policy);
    for (const incoming of commits(20_000, 16)) {
      last = planRetention(run, incoming, policy);
      run.apply(last);
    }
    expect(last.bytes).toBeLessThanOrEqual(policy.budgetBytes);
    expect(last.examined).toBeGreaterThanOrEqual(run.count);
  });
});
