import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('allows a burst of its capacity, then refills at its rate and says how long to wait', () => {
    const bucket = new TokenBucket(3, 2, 0);
    expect([bucket.take(1, 0), bucket.take(1, 0), bucket.take(1, 0)]).toEqual([0, 0, 0]);
    expect(bucket.take(1, 0)).toBe(500);
    expect(bucket.take(1, 499)).toBe(2);
    expect(bucket.take(1, 500)).toBe(0);
    // Never more than the capacity, however long it waited.
    expect(bucket.take(4, 60_000)).toBe(500);
  });
});
