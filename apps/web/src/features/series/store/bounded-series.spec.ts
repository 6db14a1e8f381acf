import { BoundedSeries } from './bounded-series';

describe('BoundedSeries', () => {
  it('keeps points in x order and refuses an x it already covers', () => {
    const series = new BoundedSeries(16);
    expect(series.append(0, 1)).toBe(true);
    expect(series.append(1, 0.9)).toBe(true);
    expect(series.append(1, 0.8)).toBe(false);
    expect(series.append(0, 0.7)).toBe(false);
    expect(Array.from(series.xs)).toEqual([0, 1]);
    expect(Array.from(series.ys)).toEqual([1, 0.9]);
    expect(series.lastX).toBe(1);
  });

  it('keeps non-finite values as gaps (NaN) and counts them', () => {
    const series = new BoundedSeries(16);
    series.append(0, 1);
    series.append(1, Number.NaN);
    series.append(2, Number.POSITIVE_INFINITY);
    series.append(3, Number.NEGATIVE_INFINITY);
    series.append(4, 2);
    expect(series.nonFinite).toBe(3);
    expect(Array.from(series.ys)).toEqual([1, NaN, NaN, NaN, 2]);
  });

  it('never holds more than maxLength, keeps the newest half exact and the spikes of the oldest in its band', () => {
    const max = 16;
    const series = new BoundedSeries(max);
    for (let x = 0; x < 1000; x++) {
      series.append(x, x === 5 ? 100 : 1 + (x % 3) / 10);
      expect(series.length).toBeLessThanOrEqual(max);
    }
    const xs = Array.from(series.xs);
    // Strictly increasing: compaction never reorders or duplicates.
    expect(xs.every((x, i) => i === 0 || x > xs[i - 1])).toBe(true);
    expect(xs.at(-1)).toBe(999);
    // The spike lives on as the maximum of the bucket covering it, the dip of every bucket as its minimum.
    expect(Math.max(...(series.maxs ?? []))).toBe(100);
    expect(Math.min(...(series.mins ?? []))).toBe(1);
    expect(series.mins?.length).toBe(series.length);
    expect(series.maxs?.length).toBe(series.length);
    // The newest half is exact: its band is the point itself.
    const last = series.length - 1;
    expect(series.mins?.[last]).toBe(series.ys[last]);
    expect(series.maxs?.[last]).toBe(series.ys[last]);
  });

  it('has no band until the first downsampling', () => {
    const series = new BoundedSeries(16);
    for (let x = 0; x < 16; x++) series.append(x, x);
    expect(series.mins).toBeUndefined();
    expect(series.maxs).toBeUndefined();
  });

  it('compacts exactly at the bound, two points into one bucket', () => {
    const max = 16;
    const series = new BoundedSeries(max);
    for (let x = 0; x < max; x++) series.append(x, x);
    expect(series.length).toBe(max);
    series.append(max, max);
    // Oldest half (8) became 4 buckets (x and value of each pair's later point), plus 8 + 1 newer.
    expect(series.length).toBe(max / 4 + max / 2 + 1);
    expect(Array.from(series.xs.subarray(0, 4))).toEqual([1, 3, 5, 7]);
    expect(Array.from(series.ys.subarray(0, 4))).toEqual([1, 3, 5, 7]);
    expect(Array.from(series.mins?.subarray(0, 4) ?? [])).toEqual([0, 2, 4, 6]);
    expect(Array.from(series.maxs?.subarray(0, 4) ?? [])).toEqual([1, 3, 5, 7]);
    expect(series.mins?.[series.length - 1]).toBe(max);
  });

  it('keeps a gap through downsampling, its bucket banded by its finite points', () => {
    const max = 16;
    const series = new BoundedSeries(max);
    for (let x = 0; x < 1000; x++) series.append(x, x === 6 ? Number.NaN : 1 + (x % 4));
    expect(series.length).toBeLessThanOrEqual(max);
    expect(series.nonFinite).toBe(1);
    const gapAt = Array.from(series.ys).findIndex((y) => Number.isNaN(y));
    expect(gapAt).toBeGreaterThanOrEqual(0);
    expect(series.xs[gapAt]).toBeGreaterThanOrEqual(6);
    expect(Number.isNaN(series.mins?.[gapAt] ?? 0)).toBe(false);
    expect(Number.isNaN(series.maxs?.[gapAt] ?? 0)).toBe(false);
  });

  it('rejects unusable bounds', () => {
    expect(() => new BoundedSeries(10)).toThrow(RangeError);
  });
});
