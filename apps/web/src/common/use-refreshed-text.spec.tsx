import { act, render, screen } from '@testing-library/react';
import { READOUT_REFRESH_MS, useRefreshedText } from './use-refreshed-text';

function Readout({ text }: { text: string }) {
  return <span data-testid="readout">{useRefreshedText(text)}</span>;
}

describe('useRefreshedText', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1000 }));
  afterEach(() => jest.useRealTimers());
  const shown = () => screen.getByTestId('readout').textContent;

  it('shows a change at once, holds the next ones for the interval, then shows the latest', () => {
    const { rerender } = render(<Readout text="0.50" />);
    expect(shown()).toBe('0.50');

    // The first change after a quiet interval passes at once.
    act(() => jest.advanceTimersByTime(READOUT_REFRESH_MS));
    rerender(<Readout text="0.49" />);
    expect(shown()).toBe('0.49');

    // Changes within the interval wait; the last of them is shown when it is up.
    rerender(<Readout text="0.48" />);
    rerender(<Readout text="0.47" />);
    expect(shown()).toBe('0.49');
    act(() => jest.advanceTimersByTime(READOUT_REFRESH_MS - 1));
    expect(shown()).toBe('0.49');
    act(() => jest.advanceTimersByTime(1));
    expect(shown()).toBe('0.47');
  });

  it('leaves no timer behind when unmounted', () => {
    const { rerender, unmount } = render(<Readout text="1" />);
    rerender(<Readout text="2" />);
    rerender(<Readout text="3" />);
    unmount();
    expect(jest.getTimerCount()).toBe(0);
  });
});
