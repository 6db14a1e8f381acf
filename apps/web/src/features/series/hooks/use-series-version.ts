import { useCallback, useSyncExternalStore } from 'react';
import type { SeriesStore } from '../store/series-store';

const noSubscription = (): (() => void) => () => undefined;

/**
 * Re-renders the caller when series `name` changed, at most once per frame,
 * and never for other series. With `active` false (the panel is off screen)
 * it does not subscribe at all.
 */
export function useSeriesVersion(series: SeriesStore, name: string, active: boolean): number {
  const subscribe = useCallback(
    (listener: () => void) => series.subscribe(name, listener),
    [series, name],
  );
  const version = useCallback(
    () => (active ? (series.get(name)?.version ?? -1) : -1),
    [series, name, active],
  );
  return useSyncExternalStore(active ? subscribe : noSubscription, version, version);
}
