import { boundedMap } from './bounded-map';

describe('boundedMap', () => {
  it('keeps at most `limit` calls in flight and the results in order', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await boundedMap([5, 1, 4, 2, 3, 0, 6], 3, async (delay, index) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delay));
      inFlight--;
      return index * 10;
    });
    expect(results).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(most).toBe(3);
  });

  it('stops starting calls after a failure and rejects with it', async () => {
    const started: number[] = [];
    await expect(
      boundedMap([0, 1, 2, 3, 4], 1, async (item) => {
        started.push(item);
        if (item === 1) throw new Error('run 1 is gone');
        return item;
      }),
    ).rejects.toThrow('run 1 is gone');
    expect(started).toEqual([0, 1]);
    expect(() => boundedMap([1], 0, async (item) => item)).toThrow(/limit must be/);
    expect(await boundedMap([], 4, async (item) => item)).toEqual([]);
  });
});
