import { MAX_POINTS_PER_PIXEL, fitToPixels } from './pixel-columns';
import { buildPlotData, type PlotLine } from './plot-data';

const off = { mode: 'off' as const, weight: 0, window: 1 };
const ema = { mode: 'ema' as const, weight: 0.9, window: 1 };
const line = (xs: ArrayLike<number>, ys: ArrayLike<number>, extra: Partial<PlotLine> = {}) =>
  ({
    sessionId: 'a',
    label: 'loss',
    colour: '#fff',
    xs,
    ys,
    timeline: { byEpoch: false, batchesPerEpoch: 10 },
    ...extra,
  }) satisfies PlotLine;
const column = (columns: ReturnType<typeof fitToPixels>, index: number) =>
  Array.from(columns.data[index] as ArrayLike<number>);

describe('fitToPixels', () => {
  it('keeps a line with at most MAX_POINTS_PER_PIXEL points per pixel column as it is', () => {
    const xs = Array.from({ length: 100 * MAX_POINTS_PER_PIXEL }, (_, i) => i);
    const built = buildPlotData([line(xs, xs)], 'step', off);
    expect(fitToPixels(built, 100)).toBe(built);
  });

  it('merges each pixel column into its last point, with the band of all its points', () => {
    // 40 points over 10 columns: four per column, values 0..39 with a spike at step 13.
    const xs = Array.from({ length: 40 }, (_, i) => i);
    const ys = xs.map((x) => (x === 13 ? 500 : x));
    const built = buildPlotData([line(xs, ys)], 'step', off);
    const fitted = fitToPixels(built, 10);
    expect(fitted.hasBand).toBe(true);
    expect(fitted.layout).toEqual([{ raw: 1, smoothed: 2, min: 3, max: 4 }]);
    expect(column(fitted, 0)).toEqual([3, 7, 11, 15, 19, 23, 27, 31, 35, 39]);
    expect(Array.from(fitted.steps)).toEqual([3, 7, 11, 15, 19, 23, 27, 31, 35, 39]);
    expect(column(fitted, 1)).toEqual([3, 7, 11, 15, 19, 23, 27, 31, 35, 39]);
    expect(column(fitted, 3)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
    // The spike is in the band of its column.
    expect(column(fitted, 4)).toEqual([3, 7, 11, 500, 19, 23, 27, 31, 35, 39]);
  });

  it('keeps the smoothed line computed from every point, and the band of downsampled points', () => {
    const xs = Array.from({ length: 30 }, (_, i) => i);
    const ys = xs.map((x) => (x % 2 === 0 ? 1 : 3));
    const mins = ys.map((y) => y - 1);
    const maxs = ys.map((y) => y + 1);
    const built = buildPlotData([line(xs, ys, { mins, maxs })], 'step', ema);
    const fitted = fitToPixels(built, 5);
    const smoothed = built.data[2] as ArrayLike<number>;
    expect(column(fitted, 2)).toEqual([5, 11, 17, 23, 29].map((i) => smoothed[i]));
    expect(column(fitted, 3)).toEqual([0, 0, 0, 0, 0]);
    expect(column(fitted, 4)).toEqual([4, 4, 4, 4, 4]);
  });

  it('keeps a gap where any point of a column was not finite, and the range of the others', () => {
    const xs = Array.from({ length: 12 }, (_, i) => i);
    const ys = xs.map((x) => (x === 4 ? Number.NaN : x));
    const fitted = fitToPixels(buildPlotData([line(xs, ys)], 'step', off), 3);
    expect(column(fitted, 1)).toEqual([3, Number.NaN, 11]);
    expect(column(fitted, 3)).toEqual([0, 5, 8]);
    expect(column(fitted, 4)).toEqual([3, 7, 11]);
  });

  it('leaves several aligned lines and x that are not all finite alone', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const two = buildPlotData([line(xs, xs), line(xs, xs)], 'step', off);
    expect(fitToPixels(two, 5)).toBe(two);
    const odd = buildPlotData([line([...xs.slice(0, 49), Number.NaN], xs)], 'step', off);
    expect(fitToPixels(odd, 5)).toBe(odd);
  });
});
