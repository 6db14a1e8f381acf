import {
  isDiverging,
  isGpuIdle,
  isLossSpike,
  isNonFinite,
  isPlateau,
  isStalled,
  median,
  stallAfterMs,
} from './rule-checks';

/** A recorded healthy run: loss decaying from 2.3 with noise (deterministic). */
const healthy = Array.from(
  { length: 200 },
  (_, step) => 2.3 * Math.exp(-step / 60) + 0.05 * Math.sin(step * 1.7) + 0.1,
);

describe('watchdog rule checks on recorded series', () => {
  it('median of odd, even and empty windows', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('non-finite: NaN and both infinities fire, ordinary and huge finite values do not', () => {
    expect([Number.NaN, Infinity, -Infinity].map(isNonFinite)).toEqual([true, true, true]);
    expect([0, -1, 1e300].map(isNonFinite)).toEqual([false, false, false]);
  });

  it('loss spike: a jump far above the window fires; the noise of a healthy run never does', () => {
    for (let step = 50; step < healthy.length; step++) {
      const window = healthy.slice(step - 50, step);
      expect(isLossSpike(window, healthy[step] as number, 6)).toBe(false);
    }
    const window = healthy.slice(100, 150);
    expect(isLossSpike(window, 5, 6)).toBe(true);
    // A drop is good news, not a spike.
    expect(isLossSpike(window, -5, 6)).toBe(false);
    // Too few points to know the spread.
    expect(isLossSpike(window.slice(0, 5), 5, 6)).toBe(false);
    // A flat window still measures a jump.
    expect(isLossSpike(Array(20).fill(1), 1.5, 6)).toBe(true);
    expect(isLossSpike(Array(20).fill(1), 1.001, 6)).toBe(false);
  });

  it('loss spike over the last `count` losses answers as the robust z-score of that window does', () => {
    // Reference: the rule written out plainly, on a copied window.
    const reference = (window: number[], value: number, threshold: number) => {
      const middle = (values: number[]) => {
        const sorted = [...values].sort((a, b) => a - b);
        const half = sorted.length >> 1;
        return sorted.length % 2 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
      };
      if (window.length < 10) return false;
      const center = middle(window);
      const spread =
        1.4826 * middle(window.map((x) => Math.abs(x - center))) || Math.abs(center) * 0.01;
      return (value - center) / spread > threshold;
    };
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    let fired = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const losses = Array.from({ length: 10 + Math.floor(random() * 90) }, () => 1 + random());
      const count = 5 + Math.floor(random() * 60);
      const value = 1 + random() * (trial % 3 === 0 ? 40 : 1.2);
      const threshold = [0, 2, 6][trial % 3]!;
      const expected = reference(losses.slice(-count), value, threshold);
      expect(isLossSpike(losses, value, threshold, count)).toBe(expected);
      if (expected) fired += 1;
    }
    // Both answers occur, so the comparison means something.
    expect(fired).toBeGreaterThan(100);
    expect(fired).toBeLessThan(1900);
  });

  it('divergence: a run that climbs and stays above twice its best fires; one bad batch does not', () => {
    const best = Math.min(...healthy);
    expect(isDiverging(healthy.slice(-20), best, 1, 20)).toBe(false);
    const oneBad = [...healthy.slice(-19), best * 10];
    expect(isDiverging(oneBad, best, 1, 20)).toBe(false);
    const climbing = Array.from({ length: 20 }, (_, index) => best * (2.5 + index * 0.1));
    expect(isDiverging(climbing, best, 1, 20)).toBe(true);
    expect(isDiverging(climbing.slice(0, 10), best, 1, 20)).toBe(false);
  });

  it('plateau: a flat tail fires; a run still improving does not', () => {
    expect(isPlateau(healthy.slice(0, 100), 0.01, 50)).toBe(false);
    const flat = [...healthy.slice(0, 100), ...Array(100).fill(Math.min(...healthy.slice(0, 100)))];
    expect(isPlateau(flat, 0.01, 50)).toBe(true);
    expect(isPlateau(flat.slice(0, 60), 0.01, 50)).toBe(false);
  });

  it('stall: k × the median interval, at least the minimum; never before a first batch', () => {
    const intervals = [100, 110, 90, 5000, 100];
    expect(stallAfterMs(intervals, 10, 30_000)).toBe(30_000);
    expect(stallAfterMs(intervals, 10, 500)).toBe(1000);
    expect(stallAfterMs([], 10, 500)).toBe(500);
    expect(isStalled(1000, 1000 + 999, intervals, 10, 500)).toBe(false);
    expect(isStalled(1000, 1000 + 1001, intervals, 10, 500)).toBe(true);
    expect(isStalled(undefined, 1e9, intervals, 10, 500)).toBe(false);
  });

  it('GPU idle: under the threshold for the whole window fires; one busy sample or a short history does not', () => {
    const minute = 60_000;
    const idle = Array.from({ length: 31 }, (_, index) => ({ atMs: index * 10_000, value: 2 }));
    expect(isGpuIdle(idle, 300_000, 10, 5 * minute)).toBe(true);
    const busy = idle.map((sample, index) => (index === 25 ? { ...sample, value: 95 } : sample));
    expect(isGpuIdle(busy, 300_000, 10, 5 * minute)).toBe(false);
    expect(isGpuIdle(idle.slice(0, 10), 90_000, 10, 5 * minute)).toBe(false);
    // Busy long ago, idle for the whole window since.
    const recovered = [
      { atMs: 0, value: 99 },
      ...idle.map((s) => ({ ...s, atMs: s.atMs + 10_000 })),
    ];
    expect(isGpuIdle(recovered, 310_000, 10, 5 * minute)).toBe(true);
  });
});
