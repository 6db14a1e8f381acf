import { memo, useCallback, useEffect, useMemo, useState } from 'react';
import { useChartPage, useChartViewSelect } from '../../charts/chart-view-context';
import type { PanelProps } from '../../panels/panel-props';
import { useSessionSelect } from '../../session/hooks/use-session-view';
import type { SessionView } from '../../session/store/session-store';
import { rememberedLayout, rememberLayout } from '../board-memory';
import { SERIES_PANELS, seriesPanelKind } from '../series-panel-kinds';
import { groupSeries, type SeriesGroupId } from '../series-groups';
import { MAX_SERIES_SHOWN } from '../store/series-store';
import './series-board.css';

const catalogVersion = (view: SessionView): number => view.seriesCatalogVersion;

/**
 * Every series of the session, one panel each, in collapsible groups by
 * prefix, with a filter box. Re-renders when a series is added or the
 * filter or a group changes, not when values arrive: each panel listens to
 * its own series.
 */
export const SeriesBoard = memo(function SeriesBoard({ sessionId, store }: PanelProps) {
  const version = useSessionSelect(store, catalogVersion);
  const [layout, setLayout] = useState(() => rememberedLayout(sessionId));
  const update = useCallback(
    (next: typeof layout) => {
      setLayout(next);
      rememberLayout(sessionId, next);
    },
    [sessionId],
  );
  // The filter lives in the page's URL; a link without one takes the one this tab last used.
  const { view } = useChartPage();
  const filter = useChartViewSelect(view, (state) => state.filter);
  useEffect(() => {
    if (view.state.filter === '' && layout.filter !== '') {
      view.update({ filter: layout.filter }, 'replace');
    }
    // Once, when the board opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [view]);
  const groups = useMemo(
    () => groupSeries(store.series.names(), filter),
    // `version` changes exactly when a series was added.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [store, version, filter],
  );
  const toggle = (id: SeriesGroupId): void => {
    const collapsed = new Set(layout.collapsed);
    if (!collapsed.delete(id)) collapsed.add(id);
    update({ ...layout, collapsed });
  };
  const shown = groups.reduce((sum, group) => sum + group.names.length, 0);
  const ignored = store.series.ignoredValues;

  return (
    <section className="series-board" data-testid="series-board" data-series-count={version}>
      <div className="series-board-toolbar">
        <input
          type="search"
          placeholder="Filter series: lr, val/*, *acc*"
          aria-label="Filter series"
          value={filter}
          onChange={(event) => {
            update({ ...layout, filter: event.target.value });
            view.update({ filter: event.target.value }, 'replace');
          }}
        />
        <span className="muted small" data-testid="series-shown">
          {shown} of {version} series
        </span>
        {ignored > 0 && (
          <span className="muted small" data-testid="series-over-bound">
            {ignored} values of series beyond the {MAX_SERIES_SHOWN} shown were ignored
          </span>
        )}
      </div>
      {version === 0 && <p className="muted small">No series yet.</p>}
      {groups.map((group) => {
        const open = !layout.collapsed.has(group.id);
        return (
          <div
            key={group.id}
            className="series-group"
            data-testid="series-group"
            data-group={group.id}
            data-collapsed={open ? 'false' : 'true'}
          >
            <button
              type="button"
              className="series-group-toggle"
              aria-expanded={open}
              onClick={() => toggle(group.id)}
            >
              {open ? '▾' : '▸'} {group.title}{' '}
              <span className="muted small">
                {group.names.length === group.total
                  ? group.total
                  : `${group.names.length} of ${group.total}`}
              </span>
            </button>
            {open && (
              <div className="series-grid">
                {group.names.map((name) => {
                  const entry = store.series.get(name);
                  if (!entry) return null;
                  const Panel = SERIES_PANELS[seriesPanelKind(entry.kind)].component;
                  return <Panel key={name} sessionId={sessionId} store={store} series={name} />;
                })}
              </div>
            )}
          </div>
        );
      })}
    </section>
  );
});
