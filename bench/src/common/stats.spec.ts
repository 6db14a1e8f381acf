import { percentile, ratio, SampleBuffer, slope, summarize } from './stats';

describe('percentile', () => {
  it('interpolates between ranks', () => {
    const sorted = [10, 20, 30, 40, 50];
    expect(percentile(sorted, 0)).toBe(10);
    expect(percentile(sorted, 50)).toBe(30);
    expect(percentile(sorted, 100)).toBe(50);
    expect(percentile(sorted, 75)).toBe(40);
    expect(percentile(sorted, 90)).toBeCloseTo(46);
  });

  it('is NaN for no samples and the sample itself for one', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([7], 99)).toBe(7);
  });

  it('rejects a percentile outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts numerically (not as strings) and does not modify its input', () => {
    const samples = [100, 9, 1000, 1, 50];
    const summary = summarize(samples);
    expect(samples).toEqual([100, 9, 1000, 1, 50]);
    expect(summary).toMatchObject({ count: 5, min: 1, max: 1000, p50: 50, mean: 232 });
  });

  it('puts p99 of 1..1000 at 990.01', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(summarize(samples).p99).toBeCloseTo(990.01);
    expect(summarize(samples).p95).toBeCloseTo(950.05);
  });
});

describe('SampleBuffer', () => {
  it('keeps everything up to its capacity', () => {
    const buffer = new SampleBuffer(4);
    [1, 2, 3].forEach((v) => buffer.add(v));
    expect(buffer.size).toBe(3);
    expect(Array.from(buffer.snapshot()).sort()).toEqual([1, 2, 3]);
  });

  it('never holds more than its capacity, and still counts every sample', () => {
    const buffer = new SampleBuffer(100);
    for (let i = 0; i < 10_000; i++) buffer.add(i);
    expect(buffer.size).toBe(100);
    expect(buffer.snapshot()).toHaveLength(100);
    expect(buffer.total).toBe(10_000);
    expect(buffer.summary().count).toBe(10_000);
  });

  it('keeps a uniform sample past capacity (median of 0..99,999 stays near 50,000)', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const buffer = new SampleBuffer(2000, random);
    for (let i = 0; i < 100_000; i++) buffer.add(i);
    expect(Math.abs(buffer.summary().p50 - 50_000)).toBeLessThan(5000);
  });

  it('starts over after clear', () => {
    const buffer = new SampleBuffer(2);
    buffer.add(5);
    buffer.clear();
    expect(buffer.size).toBe(0);
    expect(buffer.summary().p50).toBeNaN();
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new SampleBuffer(0)).toThrow(RangeError);
  });
});

describe('ratio and slope', () => {
  it('divides, and is NaN without a usable baseline', () => {
    expect(ratio(40, 50)).toBe(0.8);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(Number.NaN, 2)).toBeNaN();
  });

  it('fits a least-squares slope', () => {
    expect(slope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2);
    expect(slope([0, 1, 2, 3], [5, 5, 5, 5])).toBe(0);
    expect(slope([1], [1])).toBe(0);
  });
});
