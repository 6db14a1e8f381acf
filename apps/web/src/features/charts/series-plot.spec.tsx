import { act, render, waitFor } from '@testing-library/react';
import { setOnScreen } from '../../test/intersection';
import type { ChartView } from './chart-view';
import { ChartPageProvider, useChartPage } from './chart-view-context';
import type { PlotLine } from './plot-data';
import type uPlot from 'uplot';
import { SeriesPlot, SMOOTHED_LINE_WIDTH_PX } from './series-plot';

const line = (points: number): PlotLine => ({
  sessionId: 'run',
  label: 'run',
  colour: '#4e79a7',
  xs: Float64Array.from({ length: points }, (_, i) => i),
  ys: Float64Array.from({ length: points }, (_, i) => 1 / (i + 1)),
  timeline: { byEpoch: false, batchesPerEpoch: 0 },
});

const drawn = { top: 0, bottom: 0 };
// Stable across renders, as a chart's decoration must be (a new one rebuilds the chart).
const decorate = { top: () => drawn.top++, bottom: () => drawn.bottom++ };

/** Two charts of a page; each counts the times uPlot drew it (its draw hook). */
function page(version: number) {
  const lines = { top: [line(version + 2)], bottom: [line(version + 2)] };
  return (
    <ChartPageProvider>
      {(['top', 'bottom'] as const).map((name) => (
        <SeriesPlot
          key={name}
          name={name}
          byEpoch={false}
          lines={() => lines[name]}
          version={version}
          height={100}
          testId={`plot-${name}`}
          decorate={decorate[name]}
        />
      ))}
    </ChartPageProvider>
  );
}

describe('SeriesPlot', () => {
  afterEach(() => globalThis.history.replaceState(null, '', '#/'));

  it('draws a chart off screen only once it scrolls in, with its newest data', async () => {
    const { rerender, getByTestId } = render(page(1));
    await waitFor(() => expect(drawn.top).toBeGreaterThan(0));
    await waitFor(() => expect(drawn.bottom).toBeGreaterThan(0));
    const bottom = getByTestId('plot-bottom').querySelector('.series-chart') as Element;
    act(() => setOnScreen([bottom], false));

    const before = { ...drawn };
    rerender(page(2));
    // The chart on screen draws its new data in a coming frame; the one off screen does not.
    await waitFor(() => expect(drawn.top).toBeGreaterThan(before.top));
    expect(drawn.bottom).toBe(before.bottom);

    // Scrolled back in: it draws what it missed.
    act(() => setOnScreen([bottom], true));
    await waitFor(() => expect(drawn.bottom).toBeGreaterThan(before.bottom));
  });

  it('does not redraw a chart zoomed before the live end for data arriving after it', async () => {
    /** The number of points of each draw. */
    const drawn: number[] = [];
    const note = (u: uPlot) => drawn.push(u.data[0].length);
    let view: ChartView | undefined;
    function Grab() {
      view = useChartPage().view;
      return null;
    }
    const chartAt = (version: number) => (
      <ChartPageProvider>
        <Grab />
        <SeriesPlot
          name="loss"
          byEpoch={false}
          lines={() => [line(version + 20)]}
          version={version}
          height={100}
          testId="plot-zoomed"
          decorate={note}
        />
      </ChartPageProvider>
    );
    const { rerender } = render(chartAt(1));
    await waitFor(() => expect(drawn.at(-1)).toBe(21));
    // Zoomed into steps 2-5 of 0-20: new steps (21, 22...) are off screen.
    const unzoomed = drawn.length;
    act(() => view?.update({ zoom: { from: 2, to: 5 } }));
    await waitFor(() => expect(drawn.length).toBeGreaterThan(unzoomed));
    const before = drawn.length;
    rerender(chartAt(2));
    rerender(chartAt(3));
    // The step cursor's redraw comes after: it still draws the 21 points.
    act(() => view?.update({ cursorStep: 3 }));
    await waitFor(() => expect(drawn.length).toBeGreaterThan(before));
    expect(drawn.slice(before)).toEqual([21]);
    // Zoomed to a window that reaches the live end: new data is drawn.
    act(() => view?.update({ zoom: { from: 10, to: 40 } }));
    await waitFor(() => expect(drawn.at(-1)).toBe(23));
    rerender(chartAt(4));
    await waitFor(() => expect(drawn.at(-1)).toBe(24));
  });

  it('strokes the smoothed lines at the width given, 1.75 px otherwise', async () => {
    const widths: Record<string, number[]> = {};
    // Stable decorations (a new one rebuilds the chart): each notes the widths of its chart's series.
    const note = {
      thin: (u: uPlot) => (widths.thin = u.series.map((series) => series.width ?? 0)),
      usual: (u: uPlot) => (widths.usual = u.series.map((series) => series.width ?? 0)),
    };
    const lines = [line(4), { ...line(4), sessionId: 'other', colour: '#f28e2b' }];
    render(
      <ChartPageProvider>
        {(['thin', 'usual'] as const).map((name) => (
          <SeriesPlot
            key={name}
            name={name}
            byEpoch={false}
            lines={() => lines}
            version={1}
            height={100}
            testId={`plot-${name}`}
            decorate={note[name]}
            smoothedWidthPx={name === 'thin' ? 1 : undefined}
          />
        ))}
      </ChartPageProvider>,
    );
    await waitFor(() => expect(widths.thin && widths.usual).toBeDefined());
    // x, then per line its raw and smoothed series: the raw stays 1 px, the smoothed follows the prop.
    expect(widths.thin?.slice(1)).toEqual([1, 1, 1, 1]);
    expect(widths.usual?.slice(1)).toEqual([1, SMOOTHED_LINE_WIDTH_PX, 1, SMOOTHED_LINE_WIDTH_PX]);
  });

  it('writes y tick labels that fit the axis, whole, for bytes in the billions and losses in the thousandths', async () => {
    /** Per chart: its y tick labels and the axis width, CSS pixels, of its last draw. */
    const axes: Record<string, { labels: string[]; widthPx: number }> = {};
    const noteYAxis = (name: string) => (u: uPlot) => {
      // uPlot keeps an axis's drawn labels and width here (no public reader); none before its first layout.
      const axis = u.axes[1] as uPlot.Axis & { _values: string[] | null; _size: number };
      if (axis._values) axes[name] = { labels: [...axis._values], widthPx: axis._size };
    };
    // Stable decorations (a new one rebuilds the chart).
    const note = { total: noteYAxis('total'), used: noteYAxis('used'), loss: noteYAxis('loss') };
    const valued = (ys: number[]): PlotLine => ({
      ...line(ys.length),
      ys: Float64Array.from(ys),
    });
    const lines = {
      total: [valued([2.51e10, 2.53e10, 2.55e10])],
      used: [valued([6.1e8, 7.4e8, 838_938_624])],
      loss: [valued([0.0012, 0.0013, 0.0017])],
    };
    render(
      <ChartPageProvider>
        {(['total', 'used', 'loss'] as const).map((name) => (
          <SeriesPlot
            key={name}
            name={name}
            byEpoch={false}
            lines={() => lines[name]}
            version={1}
            height={200}
            testId={`plot-${name}`}
            decorate={note[name]}
          />
        ))}
      </ChartPageProvider>,
    );
    await waitFor(() => expect(axes.total && axes.used && axes.loss).toBeDefined());
    // Leading digits and a unit: no "00,000" that reads as tens of thousands.
    expect(axes.total?.labels.every((label) => /^25\.\d+G$/.test(label))).toBe(true);
    expect(axes.used?.labels.every((label) => /^\d{3}M$/.test(label))).toBe(true);
    // Neighbouring loss ticks stay apart ("0.0012", "0.0014"), not all "0.001".
    expect(new Set(axes.loss?.labels).size).toBe(axes.loss?.labels.length);
    expect(axes.loss?.labels.every((label) => /^0\.00\d+$/.test(label))).toBe(true);
    // At about 7.5 px per character of the 12 px axis font, beside 15 px of tick and gap.
    for (const { labels, widthPx } of Object.values(axes)) {
      for (const label of labels) expect(label.length * 7.5 + 15).toBeLessThanOrEqual(widthPx);
    }
  });
});
