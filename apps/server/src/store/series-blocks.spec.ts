import {
  blockRows,
  bucketOf,
  combineIntoBuckets,
  planBlocks,
  pointAggregate,
  RAW_WINDOW_STEPS,
} from './series-blocks';

describe('series blocks', () => {
  it('folds points into one row per series, size and block; the later point wins a tie on the last step', () => {
    const rows = blockRows([
      { seriesId: 1, step: 3, value: 5, wallMs: 10 },
      { seriesId: 1, step: 1, value: Number.NaN, wallMs: 11 },
      { seriesId: 1, step: 3, value: -2, wallMs: 12 },
      { seriesId: 1, step: 70, value: 9, wallMs: 13 },
    ]);
    const small = rows.filter((row) => row.size === 64);
    expect(small).toHaveLength(2);
    expect(small[0]).toMatchObject({
      start: 0,
      firstStep: 1,
      lastStep: 3,
      count: 3,
      nans: 1,
      min: -2,
      max: 5,
      last: -2,
      lastWallMs: 12,
    });
    expect(rows.filter((row) => row.size === 4096)).toEqual([
      expect.objectContaining({ start: 0, count: 4, lastStep: 70, last: 9 }),
    ]);
  });

  it('keeps NaN out of min and max: all-NaN blocks have NaN for both', () => {
    const [row] = blockRows([{ seriesId: 1, step: 0, value: Number.NaN, wallMs: 0 }]);
    expect(row?.min).toBeNaN();
    expect(row?.max).toBeNaN();
  });

  it('plans the coarsest level giving at least max_points blocks, and raw points for small windows', () => {
    expect(planBlocks(0, RAW_WINDOW_STEPS - 1, 10)).toBeUndefined();
    expect(planBlocks(5_000, 9_999_999, 2_000)).toEqual({ size: 4096, width: 8192, base: 4096 });
    // 782 128-step blocks for 640 buckets: two each, one 256-step block.
    expect(planBlocks(0, 99_999, 640)).toEqual({ size: 256, width: 256, base: 0 });
    // Too few 64-step blocks for 2,000 buckets: raw points.
    expect(planBlocks(0, 100_000, 2_000)).toBeUndefined();
    const plan = planBlocks(0, 999_999, 2_000);
    if (plan === undefined) throw new Error('no plan');
    expect(bucketOf(plan, 511)).toBe(0);
    expect(bucketOf(plan, 512)).toBe(1);
    expect(bucketOf(plan, 999_999)).toBeLessThan(2_000);
  });

  it('reads the coarsest blocks that tile the width the fine level gives', () => {
    // 15,625 64-step blocks in 2,000 buckets: 512 steps wide, one 512-step block each.
    expect(planBlocks(0, 999_999, 2_000)).toEqual({ size: 512, width: 512, base: 0 });
    // A window that does not start on a 512-step block: the buckets align to 512.
    expect(planBlocks(1_000, 1_000_999, 2_000)).toEqual({ size: 512, width: 512, base: 512 });
    // Any window: one block per bucket below the coarsest level, never more than max_points buckets.
    let seed = 7;
    const next = () => (seed = (seed * 48_271) % 2_147_483_647);
    for (let trial = 0; trial < 2_000; trial++) {
      const first = (next() % 3_000_000) - 1_000_000;
      const last = first + (next() % 20_000_000);
      const maxPoints = 100 + (next() % 4_000);
      const plan = planBlocks(first, last, maxPoints);
      if (plan === undefined) continue;
      expect(plan.width % plan.size).toBe(0);
      if (plan.size < 4096) expect(plan.width).toBe(plan.size);
      expect(Math.abs(plan.base % plan.size)).toBe(0);
      expect(plan.base).toBeLessThanOrEqual(first);
      expect(bucketOf(plan, last)).toBeLessThan(maxPoints);
    }
    // Zoomed to 200,000 steps: 3,125 64-step blocks, 128-step buckets, one 128-step block each.
    expect(planBlocks(0, 199_999, 2_000)).toEqual({ size: 128, width: 128, base: 0 });
    // 600,000 steps: 2,344 256-step blocks, 512-step buckets (1,172), one 512-step block each.
    expect(planBlocks(200_000, 799_999, 2_000)).toEqual({ size: 512, width: 512, base: 199_680 });
    // Past 2,000 blocks of the coarsest level: several 4096-step blocks per bucket (13 of 24,415).
    expect(planBlocks(0, 99_999_999, 2_000)).toEqual({ size: 4096, width: 53_248, base: 0 });
  });

  it('combines consecutive parts of one bucket', () => {
    const plan = { size: 64, width: 128, base: 0 };
    const buckets = combineIntoBuckets(plan, [
      { at: 0, aggregate: pointAggregate(0, 1, 0) },
      { at: 64, aggregate: pointAggregate(64, 3, 1) },
      { at: 128, aggregate: pointAggregate(128, 2, 2) },
    ]);
    expect(buckets.map((bucket) => [bucket.firstStep, bucket.count, bucket.max])).toEqual([
      [0, 2, 3],
      [128, 1, 2],
    ]);
  });
});
