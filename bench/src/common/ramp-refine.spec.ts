import { MAX_MIDPOINT_PROBES, nextProbe } from './ramp-refine';

/** The counts a ramp would probe for a true limit of `limit` trainers between `sustained` and `failed`. */
function probes(sustained: number, failed: number, limit: number): number[] {
  const seen: number[] = [];
  for (let probe = 0; probe < MAX_MIDPOINT_PROBES; probe++) {
    const next = nextProbe(sustained, failed);
    if (next === undefined) break;
    seen.push(next);
    if (next <= limit) sustained = next;
    else failed = next;
  }
  return seen;
}

describe('nextProbe', () => {
  it('halves the gap between the last sustained and the failed step', () => {
    expect(nextProbe(25, 50)).toBe(38);
    expect(nextProbe(0, 10)).toBe(5);
  });

  it('narrows 25 sustained / 50 not to within a quarter of the gap in two probes', () => {
    expect(probes(25, 50, 45)).toEqual([38, 44]);
    expect(probes(25, 50, 30)).toEqual([38, 32]);
  });

  it('stops when the gap is one trainer or at most a tenth of the failed count', () => {
    expect(nextProbe(4, 5)).toBeUndefined();
    expect(nextProbe(90, 100)).toBeUndefined();
    expect(nextProbe(45, 50)).toBeUndefined();
    expect(nextProbe(100, 115)).toBe(108);
  });
});
