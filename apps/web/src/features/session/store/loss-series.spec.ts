import { LossSeries, MAX_LOSS_POINTS } from './loss-series';

describe('LossSeries', () => {
  it('keeps points in step order and refuses steps it already covers', () => {
    const series = new LossSeries(16);
    expect(series.append(0, 1)).toBe(true);
    expect(series.append(1, 0.9)).toBe(true);
    expect(series.append(1, 0.8)).toBe(false);
    expect(series.append(0, 0.7)).toBe(false);
    expect(series.append(2, Number.NaN)).toBe(false);
    expect(Array.from(series.steps)).toEqual([0, 1]);
    expect(Array.from(series.losses)).toEqual([1, 0.9]);
    expect(series.lastStep).toBe(1);
  });

  it('never holds more than maxPoints, keeps the newest half exact and the spikes of the oldest', () => {
    const max = 16;
    const series = new LossSeries(max);
    for (let step = 0; step < 1000; step++) {
      series.append(step, step === 5 ? 100 : 1 + (step % 3) / 10);
      expect(series.length).toBeLessThanOrEqual(max);
    }
    const steps = Array.from(series.steps);
    // Strictly increasing: compaction never reorders or duplicates.
    expect(steps.every((step, i) => i === 0 || step > steps[i - 1])).toBe(true);
    expect(steps.at(-1)).toBe(999);
    // The spike at step 5 survives every compaction.
    expect(Array.from(series.losses)).toContain(100);
    expect(steps).toContain(5);
  });

  it('compacts exactly at the bound', () => {
    const max = 16;
    const series = new LossSeries(max);
    for (let step = 0; step < max; step++) series.append(step, step);
    expect(series.length).toBe(max);
    series.append(max, max);
    // Oldest half (8) became 4 points (min and max of each four), plus 8 + 1 newer.
    expect(series.length).toBe(max / 4 + max / 2 + 1);
    expect(Array.from(series.steps.subarray(0, 4))).toEqual([0, 3, 4, 7]);
  });

  it('names its default bound and rejects unusable ones', () => {
    expect(new LossSeries().maxPoints).toBe(MAX_LOSS_POINTS);
    expect(() => new LossSeries(10)).toThrow(RangeError);
  });
});
