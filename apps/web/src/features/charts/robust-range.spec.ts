import { robustRange } from './robust-range';

describe('robustRange', () => {
  it('leaves a lone spike outside the range', () => {
    const values = Array.from({ length: 200 }, (_, i) => 1 + (i % 10) / 10);
    values[150] = 1e6;
    const [low, high] = robustRange([values]) as [number, number];
    expect(low).toBeLessThan(1);
    expect(high).toBeGreaterThan(1.9);
    expect(high).toBeLessThan(3);
  });

  it('ignores gaps and non-finite values, and reads every column', () => {
    const range = robustRange([[null, 2, Number.NaN], [4]], 0) as [number, number];
    expect(range[0]).toBeCloseTo(1.9);
    expect(range[1]).toBeCloseTo(4.1);
    expect(robustRange([[null, Number.NaN]])).toBeUndefined();
  });
});
