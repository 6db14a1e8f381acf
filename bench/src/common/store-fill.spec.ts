import { chunkRanges, fillValue, FILL_CHUNK_STEPS } from './store-fill';

describe('store fill', () => {
  it('covers every step once, in chunks of whole largest blocks', () => {
    expect(FILL_CHUNK_STEPS % 4096).toBe(0);
    expect(chunkRanges(0)).toEqual([]);
    expect(chunkRanges(10, 4)).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
    const ranges = chunkRanges(1_000_000);
    expect(ranges[0]).toEqual([0, FILL_CHUNK_STEPS]);
    expect(ranges.at(-1)?.[1]).toBe(1_000_000);
    expect(() => chunkRanges(-1)).toThrow(/steps must be >= 0/);
  });

  it('logs a NaN now and then, finite values otherwise', () => {
    expect(fillValue(99_999)).toBeNaN();
    expect(Number.isFinite(fillValue(0))).toBe(true);
  });
});
