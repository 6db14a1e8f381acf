import { SeriesKind } from '@trainwatch/proto';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { batch, epochEvent, seriesHistory, snapshot } from '../../../test/fixtures';
import { observedElements, setOnScreen } from '../../../test/intersection';
import { manualFrames } from '../../../test/manual-frames';
import { SessionStore } from '../../session/store/session-store';
import { forgetLayouts } from '../board-memory';
import { SeriesBoard } from './series-board';

function setup(sessionId = 'run-1') {
  const frames = manualFrames();
  const store = new SessionStore({ schedule: frames.schedule, now: () => 0 });
  store.apply(
    snapshot(2n, [], {
      session: { partialHistory: true, historyStartStep: 1n },
      series: [
        seriesHistory('loss', [
          [1, 1],
          [2, 0.9],
        ]),
        seriesHistory('lr', [
          [1, 0.1],
          [2, 0.1],
        ]),
        seriesHistory('train/acc', [
          [1, 0.2],
          [2, Number.NaN],
        ]),
        seriesHistory('val/loss', [[0, 0.8]], SeriesKind.EPOCH),
        seriesHistory('system/cpu_percent', [[1, 40]]),
      ],
    }),
  );
  act(() => {
    frames.flush();
  });
  const page = render(<SeriesBoard sessionId={sessionId} store={store} />);
  return { store, frames, page };
}

const panel = (name: string) =>
  screen
    .getAllByTestId('series-panel')
    .find((element) => element.getAttribute('data-series') === name) as HTMLElement;
const shownSeries = () =>
  screen.queryAllByTestId('series-panel').map((element) => element.getAttribute('data-series'));

describe('SeriesBoard', () => {
  beforeEach(() => forgetLayouts());

  it('shows one panel per series, grouped by prefix, loss first', () => {
    setup();
    expect(
      screen.getAllByTestId('series-group').map((group) => group.getAttribute('data-group')),
    ).toEqual(['main', 'train', 'val', 'system']);
    expect(shownSeries()).toEqual(['loss', 'lr', 'train/acc', 'val/loss', 'system/cpu_percent']);
    expect(panel('val/loss').getAttribute('data-kind')).toBe('epoch');
    expect(panel('lr').getAttribute('data-kind')).toBe('step');
    expect(screen.getByTestId('series-shown').textContent).toBe('5 of 5 series');
  });

  it('draws a chart only while a panel is on screen', () => {
    const { page } = setup();
    // Nothing reported on screen yet: placeholders, no uPlot.
    expect(page.container.querySelectorAll('.uplot')).toHaveLength(0);
    expect(observedElements()).toEqual(expect.arrayContaining([panel('lr'), panel('val/loss')]));
    act(() => setOnScreen([panel('lr')], true));
    expect(page.container.querySelectorAll('.uplot')).toHaveLength(1);
    expect(within(panel('lr')).getByTestId('series-chart')).toBeTruthy();
    expect(panel('lr').getAttribute('data-visible')).toBe('true');
    act(() => setOnScreen([panel('lr')], false));
    expect(page.container.querySelectorAll('.uplot')).toHaveLength(0);
    expect(within(panel('lr')).getByTestId('series-placeholder')).toBeTruthy();
  });

  it('updates a visible panel with live points at the next frame; others keep still', () => {
    const { store, frames } = setup();
    act(() => setOnScreen([panel('lr')], true));
    store.apply(batch(3n, 3, 10, { lr: 0.05, grad_norm: 2 }));
    expect(panel('lr').getAttribute('data-points')).toBe('2');
    act(() => {
      frames.flush();
    });
    expect(panel('lr').getAttribute('data-points')).toBe('3');
    expect(within(panel('lr')).getByTestId('series-latest').textContent).toBe('0.05');
    // A new series gets its panel in the first group.
    expect(shownSeries()).toContain('grad_norm');
    store.apply(epochEvent(4n, 1, 0.5, 0.5, { 'val/loss': 0.7 }));
    act(() => {
      frames.flush();
    });
    // Off screen: not subscribed, so it did not re-render for the new point.
    expect(panel('val/loss').getAttribute('data-points')).toBe('1');
    act(() => setOnScreen([panel('val/loss')], true));
    expect(panel('val/loss').getAttribute('data-points')).toBe('2');
  });

  it('marks non-finite values on the panel, and shades missing history on step charts', () => {
    setup();
    expect(within(panel('train/acc')).getByTestId('non-finite-count').textContent).toBe(
      '1 non-finite value',
    );
    expect(panel('train/acc').getAttribute('data-non-finite')).toBe('1');
    expect(within(panel('lr')).queryByTestId('non-finite-count')).toBeNull();
    expect(within(panel('lr')).getByTestId('series-missing-history').textContent).toContain(
      'before step 1',
    );
    expect(within(panel('val/loss')).queryByTestId('series-missing-history')).toBeNull();
  });

  it('filters by substring or glob', () => {
    setup();
    const box = screen.getByLabelText('Filter series');
    fireEvent.change(box, { target: { value: 'val/*' } });
    expect(shownSeries()).toEqual(['val/loss']);
    fireEvent.change(box, { target: { value: 'L' } });
    expect(shownSeries()).toEqual(['loss', 'lr', 'val/loss']);
    expect(screen.getByTestId('series-shown').textContent).toBe('3 of 5 series');
    fireEvent.change(box, { target: { value: '' } });
    expect(shownSeries()).toHaveLength(5);
  });

  it('collapses a group and remembers groups and filter per session', () => {
    const first = setup('run-1');
    fireEvent.click(screen.getByRole('button', { name: /system\// }));
    expect(shownSeries()).not.toContain('system/cpu_percent');
    fireEvent.change(screen.getByLabelText('Filter series'), { target: { value: 'acc' } });
    first.page.unmount();

    // Back on the same session: as it was left.
    const again = setup('run-1');
    expect(
      screen
        .getAllByTestId('series-group')
        .find((g) => g.getAttribute('data-group') === 'system')
        ?.getAttribute('data-collapsed'),
    ).toBe('true');
    expect((screen.getByLabelText('Filter series') as HTMLInputElement).value).toBe('acc');
    expect(shownSeries()).toEqual(['train/acc']);
    again.page.unmount();

    // Another session starts open and unfiltered.
    setup('run-2');
    expect(shownSeries()).toHaveLength(5);
    fireEvent.click(screen.getByRole('button', { name: /system\// }));
    fireEvent.click(screen.getByRole('button', { name: /system\// }));
    expect(shownSeries()).toContain('system/cpu_percent');
  });
});
