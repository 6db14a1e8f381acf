import { fireEvent, render, screen } from '@testing-library/react';
import { BoundedSeries } from '../series/store/bounded-series';
import { ChartToolbar } from './chart-toolbar';
import { ChartPageProvider } from './chart-view-context';
import { LossChart } from './loss-chart';

describe('LossChart', () => {
  afterEach(() => globalThis.history.replaceState(null, '', '#/'));

  it('draws a canvas, reports its points and follows the page controls', () => {
    const loss = new BoundedSeries(16);
    for (let step = 0; step < 5; step++) loss.append(step, 1 / (step + 1));
    const page = (revision: number) => (
      <ChartPageProvider>
        <ChartToolbar />
        <LossChart loss={loss} revision={revision} />
      </ChartPageProvider>
    );
    const { rerender, container } = render(page(loss.revision));
    const chart = screen.getByTestId('loss-chart');
    expect(container.querySelector('canvas')).not.toBeNull();
    expect(chart.getAttribute('data-points')).toBe('5');
    expect(chart.getAttribute('data-last-step')).toBe('4');

    loss.append(5, 0.1);
    rerender(page(loss.revision));
    expect(chart.getAttribute('data-points')).toBe('6');

    fireEvent.change(screen.getByLabelText('Smoothing weight'), { target: { value: '0.9' } });
    expect(screen.getByTestId('chart-smoothing-value').textContent).toBe('0.90');
    fireEvent.click(screen.getByTestId('chart-log-scale'));
    expect((screen.getByTestId('chart-log-scale') as HTMLInputElement).checked).toBe(true);
    // Rebuilt for the new scale: still one uPlot.
    expect(container.querySelectorAll('.uplot')).toHaveLength(1);
    expect(screen.getByTestId('loss-plot').getAttribute('data-resolution')).toBe('live');
    expect(screen.queryByTestId('chart-zoom-reset')).toBeNull();
    expect(globalThis.location.hash).toBe('#/?smooth=ema%3A0.9&log=1');
  });
});
