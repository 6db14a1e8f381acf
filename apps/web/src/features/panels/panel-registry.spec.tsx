import { SeriesKind } from '@trainwatch/proto';
import { act } from '@testing-library/react';
import { FakeDashboard } from '../../test/fake-dashboard';
import { batch, epochEvent, imageFrame, seriesHistory, snapshot } from '../../test/fixtures';
import { manualFrames } from '../../test/manual-frames';
import { renderWithServer } from '../../test/render';
import { SessionStore } from '../session/store/session-store';
import { SERIES_PANELS, seriesPanelKind } from '../series/series-panel-kinds';
import { PANEL_REGISTRY, SESSION_LAYOUT, type PanelKind } from './panel-registry';

function placedKinds(): PanelKind[] {
  return SESSION_LAYOUT.flatMap((row) => ('kind' in row ? [row.kind] : row.columns.flat()));
}

describe('panel registry', () => {
  it('renders every panel kind from a session store', () => {
    const frames = manualFrames();
    const store = new SessionStore({ schedule: frames.schedule, now: () => 0 });
    store.apply(
      snapshot(0n, [0, 1], {
        images: imageFrame(1, 2),
        series: [seriesHistory('val/acc', [[0, 0.5]], SeriesKind.EPOCH)],
      }),
    );
    store.apply(batch(1n, 2, 10, { lr: 0.1 }));
    store.apply(epochEvent(2n, 0, 0.5, 0.5));
    act(() => {
      frames.flush();
    });
    for (const kind of Object.keys(PANEL_REGISTRY) as PanelKind[]) {
      const Panel = PANEL_REGISTRY[kind].component;
      const series = kind === 'series-epoch' ? 'val/acc' : 'lr';
      const { container, unmount } = renderWithServer(
        new FakeDashboard(),
        <Panel sessionId="run-1" store={store} series={series} />,
      );
      expect({ kind, empty: container.childElementCount === 0 }).toEqual({ kind, empty: false });
      unmount();
    }
  });

  it('places every panel kind on the page, or behind a series kind', () => {
    const reachable = new Set<string>([
      ...placedKinds(),
      ...[SeriesKind.UNSPECIFIED, SeriesKind.STEP, SeriesKind.EPOCH].map(seriesPanelKind),
    ]);
    expect([...reachable].sort()).toEqual(Object.keys(PANEL_REGISTRY).sort());
    for (const kind of Object.keys(SERIES_PANELS)) expect(PANEL_REGISTRY).toHaveProperty(kind);
    // Each is placed once.
    expect(new Set(placedKinds()).size).toBe(placedKinds().length);
  });

  it('has a panel for every series kind of the contract', () => {
    const kinds = Object.values(SeriesKind).filter((v): v is SeriesKind => typeof v === 'number');
    for (const kind of kinds) expect(PANEL_REGISTRY).toHaveProperty(seriesPanelKind(kind));
  });
});
