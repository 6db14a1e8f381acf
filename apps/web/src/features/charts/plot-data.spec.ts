import { create } from '@bufbuild/protobuf';
import { SeriesWindowSchema } from '@trainwatch/proto';
import { StepClock } from '../series/store/step-clock';
import { buildPlotData, indexOfX, unionXs, withWindow, type PlotLine } from './plot-data';

const off = { mode: 'off' as const, weight: 0, window: 1 };
const line = (label: string, xs: number[], ys: number[], clock?: StepClock): PlotLine => ({
  sessionId: label,
  label,
  colour: '#fff',
  xs,
  ys,
  timeline: { byEpoch: false, batchesPerEpoch: 10, clock },
});

describe('buildPlotData', () => {
  it('aligns several runs on the union of their x, null where a run has no point', () => {
    const columns = buildPlotData(
      [line('a', [0, 2, 4], [1, 2, 3]), line('b', [1, 2], [5, 6])],
      'step',
      off,
    );
    expect(Array.from(columns.data[0] as ArrayLike<number>)).toEqual([0, 1, 2, 4]);
    expect(columns.layout).toEqual([
      { raw: 1, smoothed: 2 },
      { raw: 3, smoothed: 4 },
    ]);
    expect(columns.data[1]).toEqual([1, null, 2, 3]);
    expect(columns.data[3]).toEqual([null, 5, 6, null]);
    expect(Array.from(columns.steps)).toEqual([0, 1, 2, 4]);
  });

  it('draws each run against its own clock on the relative axis', () => {
    const clock = new StepClock();
    clock.note(0, 5000);
    clock.note(10, 6000);
    const columns = buildPlotData([line('a', [0, 5, 10], [1, 2, 3], clock)], 'relative', off);
    expect(Array.from(columns.data[0] as ArrayLike<number>)).toEqual([0, 0.5, 1]);
    // A click at the second point names step 5.
    expect(columns.steps[1]).toBe(5);
  });
});

describe('withWindow', () => {
  it('puts the window in place of the points it covers, live points after it follow, band from buckets', () => {
    const live = line('a', [0, 10, 20, 30], [9, 9, 9, 4]);
    const window = create(SeriesWindowSchema, {
      name: 'loss',
      exact: false,
      lastSteps: [10n, 15n, 20n],
      lasts: [1, 2, 3],
      mins: [0.5, 1.5, 2.5],
      maxs: [1.5, 2.5, 3.5],
    });
    const zoomed = withWindow(live, window);
    expect(Array.from(zoomed.xs)).toEqual([10, 15, 20, 30]);
    expect(Array.from(zoomed.ys)).toEqual([1, 2, 3, 4]);
    expect(Array.from(zoomed.mins ?? [])).toEqual([0.5, 1.5, 2.5, 4]);
    const columns = buildPlotData([zoomed], 'step', off);
    expect(columns.hasBand).toBe(true);
    expect(columns.layout[0]).toEqual({ raw: 1, smoothed: 2, min: 3, max: 4 });
  });
});

describe('unionXs', () => {
  it('merges ascending lines into their distinct x, NaN left out, typed or plain', () => {
    const union = unionXs([Float64Array.from([0, 2, 4, Number.NaN]), [1, 2, 3], []]);
    expect(Array.from(union)).toEqual([0, 1, 2, 3, 4]);
    expect(indexOfX(union, 3)).toBe(3);
    expect(indexOfX(union, 2.5)).toBe(-1);
    expect(unionXs([])).toHaveLength(0);
  });

  it('aligns 20 runs of 1,000 buckets with steps of their own', () => {
    const lines = Array.from({ length: 20 }, (_, run) =>
      line(
        `r${run}`,
        Array.from({ length: 1000 }, (_, i) => i * 100 + run),
        Array.from({ length: 1000 }, (_, i) => Math.sin(i)),
      ),
    );
    const columns = buildPlotData(lines, 'step', off);
    expect((columns.data[0] as ArrayLike<number>).length).toBe(20_000);
    // Run 1's first point sits at x = 1, the union's second.
    expect(columns.data[3]?.[1]).toBe(Math.sin(0));
    expect(columns.data[3]?.[0]).toBeNull();
    expect(columns.steps[19_999]).toBe(99_919);
  });
});
