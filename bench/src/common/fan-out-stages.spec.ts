import { bucketPercentile, parseBuckets, parseGauge } from './fan-out-stages';

const scrape = (counts: number[]) =>
  [1, 2, 5, 10]
    .map((le, i) => `h_bucket{transport="grpc",le="${le}"} ${counts[i]}`)
    .concat(`h_bucket{transport="grpc",le="+Inf"} ${counts.at(-1)}`, 'lag_p99_seconds 0.012')
    .join('\n');

describe('fan-out stage split', () => {
  it('takes percentiles of what was observed between two scrapes, inside its bucket', () => {
    const before = parseBuckets(scrape([10, 10, 10, 10]), 'h', 'transport="grpc"');
    // 100 more: 90 at ≤ 1 ms, 10 in (5, 10].
    const after = parseBuckets(scrape([100, 100, 100, 110]), 'h', 'transport="grpc"');
    expect(bucketPercentile(before, after, 50)).toBeCloseTo(0.5556, 3);
    expect(bucketPercentile(before, after, 99)).toBeCloseTo(9.5, 3);
    expect(bucketPercentile(after, after, 99)).toBeNaN();
    expect(parseGauge(scrape([0, 0, 0, 0]), 'lag_p99_seconds')).toBe(0.012);
  });
});
