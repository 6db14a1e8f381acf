import { useMemo } from 'react';
import { useDashboardClient } from '../../common/transport-context';
import { WindowFetcher } from './window-fetcher';

/** A page's WindowFetcher over QuerySeries (the one transport's client). */
export function useWindowFetcher(): WindowFetcher {
  const client = useDashboardClient();
  return useMemo(
    () =>
      new WindowFetcher(async (request, signal) => {
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
      }),
    [client],
  );
}
