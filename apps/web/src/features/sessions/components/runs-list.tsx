import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef } from 'react';
import { useNow } from '../../../common/use-now';
import type { RunPages } from '../state/run-pages';
import { LoadingRow, RunRow } from './run-row';
import './runs-list.css';

/**
 * A run's row height (`.run-row` in runs-list.css: four 18 px lines and the cells' padding):
 * rows are still measured, for the one being edited, but a row that measures what was estimated
 * changes no other row's position.
 */
export const RUN_ROW_HEIGHT_PX = 90;
/** Rows rendered beyond each edge of the view, so a short scroll shows no blank. */
const OVERSCAN_ROWS = 8;

/**
 * The runs as one long list of which only the rows on screen exist
 * (@tanstack/react-virtual): 10,000 runs scroll like 20. Rows have one
 * height and are measured as they render (a row being edited grows). Each
 * row is placed on its own (absolute, at its offset) with the header's
 * fixed columns, not laid out in a <table>: a CPU profile of a brisk scroll
 * spent ~30% of the page's main thread laying out the table again after each
 * frame's rows came and went (the spacer rows' heights changed with them);
 * a row placed on its own is laid out alone.
 */
export function RunsList({
  pages,
  selected,
  onToggle,
  onChanged,
  onVisible,
}: {
  pages: RunPages;
  selected: ReadonlySet<string>;
  onToggle: (id: string) => void;
  onChanged: () => void;
  onVisible: (first: number, last: number) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const count = pages.rowCount;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => RUN_ROW_HEIGHT_PX,
    overscan: OVERSCAN_ROWS,
    // Rows are keyed by position: a page's rows replace its placeholders in place.
    getItemKey: (index) => index,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items.at(-1)?.index ?? 0;
  useEffect(() => onVisible(first, last), [first, last, onVisible]);
  // Another query's rows (a search, a filter, an order): start again at the top.
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [pages]);
  const now = useNow(1_000);

  return (
    <div
      ref={scroller}
      className="runs-scroller"
      data-virtual-list
      data-testid="runs-scroller"
      data-rows={count}
      data-first-row={first}
      data-last-row={last}
    >
      <div className="sessions" role="table" data-testid="sessions-table">
        <div className="runs-head" role="rowgroup">
          <div className="runs-grid" role="row">
            <div role="columnheader" aria-label="Compare" />
            <div role="columnheader">Status</div>
            <div role="columnheader">Session</div>
            <div role="columnheader">Model</div>
            <div role="columnheader">Dataset</div>
            <div role="columnheader">Progress</div>
            <div role="columnheader">Last update</div>
            <div role="columnheader">Latest loss</div>
            <div role="columnheader">Run</div>
          </div>
        </div>
        <div className="runs-body" role="rowgroup" style={{ height: virtualizer.getTotalSize() }}>
          {items.map((item) => {
            const session = pages.row(item.index);
            return session === undefined ? (
              <LoadingRow
                key={item.key}
                index={item.index}
                top={item.start}
                measure={virtualizer.measureElement}
              />
            ) : (
              <RunRow
                key={item.key}
                index={item.index}
                top={item.start}
                session={session}
                selected={selected.has(session.sessionId)}
                now={now}
                onToggle={onToggle}
                onChanged={onChanged}
                measure={virtualizer.measureElement}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}
