import { fireEvent, render, screen } from '@testing-library/react';
import { BoundedSeries } from '../series/store/bounded-series';
import { LossChart } from './loss-chart';

describe('LossChart', () => {
  it('draws a canvas, reports its points and offers smoothing, log scale and zoom reset', () => {
    const loss = new BoundedSeries(16);
    for (let step = 0; step < 5; step++) loss.append(step, 1 / (step + 1));
    const { rerender, container } = render(<LossChart loss={loss} revision={loss.revision} />);
    const chart = screen.getByTestId('loss-chart');
    expect(container.querySelector('canvas')).not.toBeNull();
    expect(chart.getAttribute('data-points')).toBe('5');
    expect(chart.getAttribute('data-last-step')).toBe('4');

    loss.append(5, 0.1);
    rerender(<LossChart loss={loss} revision={loss.revision} />);
    expect(chart.getAttribute('data-points')).toBe('6');

    fireEvent.change(screen.getByLabelText('Smoothing'), { target: { value: '0.9' } });
    expect(screen.getByText('0.90')).toBeTruthy();
    fireEvent.click(screen.getByLabelText('Log scale'));
    expect((screen.getByLabelText('Log scale') as HTMLInputElement).checked).toBe(true);
    expect(container.querySelectorAll('.uplot')).toHaveLength(1);
    expect((screen.getByText('Reset zoom') as HTMLButtonElement).disabled).toBe(true);
  });
});
