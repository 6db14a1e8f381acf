import { runningAverageInto, smoothInto, smoothLine, timeWeightedSmoothInto } from './smoothing';

const out = (length: number) => new Float64Array(length);

describe('smoothInto (EMA)', () => {
  it('returns the raw values at weight 0', () => {
    expect(Array.from(smoothInto([3, 1, 2], 0, out(3)))).toEqual([3, 1, 2]);
  });

  it('gives the debiased EMA of known inputs', () => {
    // w = 0.5: last = 0.5, 1.25, 2.125; debias 1-0.5, 1-0.25, 1-0.125.
    const smoothed = Array.from(smoothInto([1, 2, 3], 0.5, out(3)));
    expect(smoothed[0]).toBeCloseTo(1);
    expect(smoothed[1]).toBeCloseTo(1.25 / 0.75);
    expect(smoothed[2]).toBeCloseTo(2.125 / 0.875);
  });

  it('keeps a gap (NaN) a gap without poisoning the average after it', () => {
    const smoothed = Array.from(smoothInto([1, NaN, 1], 0.9, out(3)));
    expect(smoothed[1]).toBeNaN();
    expect(smoothed[2]).toBeCloseTo(1);
  });

  it('refuses an output buffer that is too short', () => {
    expect(() => smoothInto([1, 2], 0.5, out(1))).toThrow(RangeError);
  });
});

describe('timeWeightedSmoothInto', () => {
  it('equals the plain EMA when the points are evenly spaced', () => {
    const values = [4, 1, 3, 8, 2];
    const even = timeWeightedSmoothInto([0, 10, 20, 30, 40], values, 0.7, out(5));
    const plain = smoothInto(values, 0.7, out(5));
    even.forEach((value, index) => expect(value).toBeCloseTo(plain[index]));
  });

  it('forgets more of the past across a long gap', () => {
    // Gaps 1, 1, 1, 3 (median 1): the last point decays by 0.5^3 instead of 0.5.
    const xs = [0, 1, 2, 3, 6];
    const values = [0, 0, 0, 0, 1];
    const timed = timeWeightedSmoothInto(xs, values, 0.5, out(5));
    const plain = smoothInto(values, 0.5, out(5));
    // last = 0.125*0 + 0.875*1; debias = 0.5^4 * 0.125.
    expect(timed[4]).toBeCloseTo(0.875 / (1 - 0.0625 * 0.125));
    expect(timed[4]).toBeGreaterThan(plain[4]);
  });

  it('keeps gaps and weight 0', () => {
    expect(Array.from(timeWeightedSmoothInto([0, 1, 5], [2, NaN, 4], 0, out(3)))).toEqual([
      2,
      NaN,
      4,
    ]);
  });
});

describe('runningAverageInto', () => {
  it('averages the last `window` values', () => {
    expect(Array.from(runningAverageInto([2, 4, 6, 8, 10], 3, out(5)))).toEqual([2, 3, 4, 6, 8]);
  });

  it('skips gaps: they are not values, and stay gaps', () => {
    expect(Array.from(runningAverageInto([2, NaN, 4, 6], 2, out(4)))).toEqual([2, NaN, 3, 5]);
  });

  it('is the raw line at window 1', () => {
    expect(Array.from(runningAverageInto([5, 1, 7], 1, out(3)))).toEqual([5, 1, 7]);
  });
});

describe('smoothLine', () => {
  it('picks the mode, and copies the raw line when off', () => {
    const xs = [0, 1, 2];
    const values = [1, 3, 5];
    expect(
      Array.from(smoothLine(xs, values, { mode: 'off', weight: 0.9, window: 5 }, out(3))),
    ).toEqual(values);
    expect(
      Array.from(smoothLine(xs, values, { mode: 'average', weight: 0.9, window: 2 }, out(3))),
    ).toEqual([1, 2, 4]);
    expect(smoothLine(xs, values, { mode: 'ema', weight: 0.5, window: 2 }, out(3))[1]).toBeCloseTo(
      (0.5 * 0.5 + 1.5) / 0.75,
    );
  });
});
