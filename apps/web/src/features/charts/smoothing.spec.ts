import { smoothInto } from './smoothing';

describe('smoothInto', () => {
  it('returns the raw values at weight 0', () => {
    expect(Array.from(smoothInto([3, 1, 2], 0, new Float64Array(3)))).toEqual([3, 1, 2]);
  });

  it('starts at the first value (debiased) and damps a spike', () => {
    const out = Array.from(smoothInto([1, 1, 10, 1], 0.9, new Float64Array(4)));
    expect(out[0]).toBeCloseTo(1);
    expect(out[2]).toBeGreaterThan(1);
    expect(out[2]).toBeLessThan(10);
  });

  it('keeps a gap (NaN) a gap without poisoning the average after it', () => {
    const out = Array.from(smoothInto([1, NaN, 1], 0.9, new Float64Array(3)));
    expect(out[1]).toBeNaN();
    expect(out[2]).toBeCloseTo(1);
  });

  it('refuses an output buffer that is too short', () => {
    expect(() => smoothInto([1, 2], 0.5, new Float64Array(1))).toThrow(RangeError);
  });
});
