import {
  createContext,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import { bindToLocation, ChartView, chartViewFromLocation } from './chart-view';
import type { ChartViewState } from './chart-view-params';
import type { WindowFetcher } from './window-fetcher';

/** The page's chart view and (where zoom reads full resolution) its window fetcher. */
export interface ChartPage {
  view: ChartView;
  fetcher?: WindowFetcher;
}

const ChartPageContext = createContext<ChartPage | undefined>(undefined);

/** Gives every chart below one view, read from and written to the URL. */
export function ChartPageProvider({
  fetcher,
  children,
}: {
  fetcher?: WindowFetcher;
  children: ReactNode;
}) {
  const [view] = useState(chartViewFromLocation);
  useEffect(() => bindToLocation(view), [view]);
  useEffect(() => () => fetcher?.cancelAll(), [fetcher]);
  const page = useMemo(() => ({ view, fetcher }), [view, fetcher]);
  return <ChartPageContext.Provider value={page}>{children}</ChartPageContext.Provider>;
}

/** The page's charts; a chart outside a page (a lone panel in a test) gets a view of its own. */
export function useChartPage(): ChartPage {
  const page = useContext(ChartPageContext);
  const [own] = useState(() => (page ? undefined : { view: new ChartView() }));
  return (page ?? own) as ChartPage;
}

/** Re-renders the caller when the part of the view `select` picks changes. */
export function useChartViewSelect<T>(view: ChartView, select: (state: ChartViewState) => T): T {
  return useSyncExternalStore(
    (listener) => view.subscribe(listener),
    () => select(view.state),
    () => select(view.state),
  );
}
