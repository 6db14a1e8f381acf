import { create } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { DashboardService, QuerySeriesResponseSchema, SeriesWindowSchema } from '@trainwatch/proto';
import { FakeDashboard } from '../../test/fake-dashboard';
import { fullSeries, toCsv } from './series-export';

describe('fullSeries', () => {
  it('splits windows until each is exact and returns every point in order', async () => {
    const fake = new FakeDashboard();
    // 25,000 points at steps 0..24,999; a window of more than 10,000 points is bucketed.
    const calls: [number, number][] = [];
    fake.onQuerySeries = (request) => {
      const from = Number(request.fromStep);
      const to = request.toStep === 0n ? 24_999 : Math.min(24_999, Number(request.toStep));
      calls.push([from, to]);
      const count = to - from + 1;
      const exact = count <= request.maxPoints;
      const steps = exact ? Array.from({ length: count }, (_, index) => from + index) : [from, to];
      return create(QuerySeriesResponseSchema, {
        series: [
          create(SeriesWindowSchema, {
            name: 'loss',
            exact,
            lastSteps: steps.map(BigInt),
            lasts: steps.map((step) => step / 2),
            timestampsMs: steps.map((step) => BigInt(1000 + step)),
          }),
        ],
      });
    };
    const client = createClient(DashboardService, fake.transport);
    const points = await fullSeries(client, 'run-1', 'loss');
    expect(points).toHaveLength(25_000);
    expect(points.every((point, index) => point.step === index)).toBe(true);
    expect(points[10]).toEqual({ step: 10, value: 5, wallMs: 1010 });
    expect(calls.length).toBeLessThan(10);
  });

  it('writes CSV with a header and quoted run names', () => {
    expect(toCsv([{ run: 'a,b', points: [{ step: 1, value: Number.NaN, wallMs: 5 }] }])).toBe(
      'run,step,value,wall_time_ms\n"a,b",1,NaN,5\n',
    );
  });
});
