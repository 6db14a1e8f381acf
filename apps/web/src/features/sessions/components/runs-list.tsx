import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef } from 'react';
import { useNow } from '../../../common/use-now';
import type { RunPages } from '../state/run-pages';
import { LoadingRow, RunRow } from './run-row';
import './runs-list.css';

/**
 * A run's row height (`tr.run-row` in runs-list.css: four 18 px lines and the cell's padding):
 * rows are still measured, for the one being edited, but a row that measures what was estimated
 * changes no other row's position.
 */
export const RUN_ROW_HEIGHT_PX = 90;
/** Rows rendered beyond each edge of the view, so a short scroll shows no blank. */
const OVERSCAN_ROWS = 8;

/**
 * The runs as one long table of which only the rows on screen exist
 * (@tanstack/react-virtual): 10,000 runs scroll like 20. Rows have one
 * height and are measured as they render (a row being edited grows); the
 * rows above and below the view are two spacer rows, so the table keeps its
 * columns.
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
  const top = items[0]?.start ?? 0;
  const bottom = virtualizer.getTotalSize() - (items.at(-1)?.end ?? 0);

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
      <table className="sessions" data-testid="sessions-table">
        <thead>
          <tr>
            <th aria-label="Compare" />
            <th>Status</th>
            <th>Session</th>
            <th>Model</th>
            <th>Dataset</th>
            <th>Progress</th>
            <th>Last update</th>
            <th>Latest loss</th>
            <th>Run</th>
          </tr>
        </thead>
        <tbody>
          {top > 0 && (
            <tr aria-hidden="true" style={{ height: top }}>
              <td colSpan={9} className="spacer" />
            </tr>
          )}
          {items.map((item) => {
            const session = pages.row(item.index);
            return session === undefined ? (
              <LoadingRow key={item.key} index={item.index} measure={virtualizer.measureElement} />
            ) : (
              <RunRow
                key={item.key}
                index={item.index}
                session={session}
                selected={selected.has(session.sessionId)}
                now={now}
                onToggle={onToggle}
                onChanged={onChanged}
                measure={virtualizer.measureElement}
              />
            );
          })}
          {bottom > 0 && (
            <tr aria-hidden="true" style={{ height: bottom }}>
              <td colSpan={9} className="spacer" />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
