import { useMemo } from 'react';
import { useDashboardClient } from '../../common/transport-context';
import {
  MAX_CACHED_WINDOWS,
  WindowFetcher,
  ZOOM_DEBOUNCE_MS,
  ZOOM_WINDOW_POINTS,
} from './window-fetcher';

/**
 * A page's WindowFetcher over QuerySeries (the one transport's client),
 * asking `windowPoints` per series and window.
 */
export function useWindowFetcher(windowPoints = ZOOM_WINDOW_POINTS): WindowFetcher {
  const client = useDashboardClient();
  return useMemo(
    () =>
      new WindowFetcher(
        async (request, signal) => {
          const answer = await client.querySeries(
            {
              sessionId: request.sessionId,
              names: request.names,
              fromStep: BigInt(request.fromStep),
              toStep: BigInt(request.toStep),
              maxPoints: request.maxPoints,
            },
            { signal },
          );
          return answer.series;
        },
        ZOOM_DEBOUNCE_MS,
        MAX_CACHED_WINDOWS,
        windowPoints,
      ),
    [client, windowPoints],
  );
}
