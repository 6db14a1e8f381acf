import { BitmapCache } from './bitmap-cache';

/** Decodes the test finishes by hand: a picture of bytes[0] × bytes[0] pixels. */
function manualDecodes() {
  const closed: number[] = [];
  const pending: { size: number; finish: () => void; fail: () => void }[] = [];
  const decode = (bytes: Uint8Array) =>
    new Promise<ImageBitmap>((resolve, reject) => {
      const size = bytes[0] ?? 0;
      const bitmap = {
        width: size,
        height: size,
        close: () => closed.push(size),
      } as unknown as ImageBitmap;
      pending.push({ size, finish: () => resolve(bitmap), fail: () => reject(new Error('bad')) });
    });
  return { closed, pending, decode };
}

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('BitmapCache', () => {
  it('decodes a picture once, hands it out when ready, and keeps it', async () => {
    const { pending, decode, closed } = manualDecodes();
    const cache = new BitmapCache(1024, decode);
    const bytes = new Uint8Array([4]);
    cache.prepare(bytes);
    cache.prepare(bytes);
    expect(pending).toHaveLength(1);
    expect(cache.ready(bytes)).toBeUndefined();
    pending[0]?.finish();
    await flush();
    expect(cache.ready(bytes)?.width).toBe(4);
    expect(cache.heldBytes).toBe(4 * 4 * 4);
    expect(closed).toEqual([]);
  });

  it('closes the least recently used pictures past its byte bound', async () => {
    const { pending, decode, closed } = manualDecodes();
    // Room for two 8 × 8 pictures (256 bytes each).
    const cache = new BitmapCache(512, decode);
    const [a, b, c] = [new Uint8Array([8]), new Uint8Array([8]), new Uint8Array([8])];
    for (const bytes of [a, b, c]) cache.prepare(bytes);
    pending[0]?.finish();
    pending[1]?.finish();
    await flush();
    // a was used since b was decoded: b goes when c comes.
    expect(cache.ready(a)).toBeDefined();
    pending[2]?.finish();
    await flush();
    expect(closed).toEqual([8]);
    expect(cache.ready(b)).toBeUndefined();
    expect(cache.ready(a)).toBeDefined();
    expect(cache.ready(c)).toBeDefined();
    expect(cache.heldBytes).toBe(512);
  });

  it('forgets a picture that does not decode, and closes what lands after a clear', async () => {
    const { pending, decode, closed } = manualDecodes();
    const cache = new BitmapCache(1024, decode);
    const bad = new Uint8Array([2]);
    cache.prepare(bad);
    pending[0]?.fail();
    await flush();
    expect(cache.size).toBe(0);
    const late = new Uint8Array([3]);
    cache.prepare(late);
    cache.clear();
    pending[1]?.finish();
    await flush();
    expect(closed).toEqual([3]);
    expect(cache.ready(late)).toBeUndefined();
  });

  it('decodes a few at a time, in the order asked', async () => {
    const { pending, decode } = manualDecodes();
    const cache = new BitmapCache(1 << 20, decode, 2);
    const pictures = [1, 2, 3, 4].map((size) => new Uint8Array([size]));
    for (const bytes of pictures) cache.prepare(bytes);
    expect(pending.map((one) => one.size)).toEqual([1, 2]);
    pending[0]?.finish();
    await flush();
    expect(pending.map((one) => one.size)).toEqual([1, 2, 3]);
    pending[1]?.fail();
    await flush();
    expect(pending.map((one) => one.size)).toEqual([1, 2, 3, 4]);
  });

  it('keeps only the pictures named: the others closed, in flight or waiting', async () => {
    const { pending, decode, closed } = manualDecodes();
    // One decode at a time.
    const cache = new BitmapCache(1 << 20, decode, 1);
    const [held, dropped, inFlight, waiting] = [5, 6, 7, 8].map((size) => new Uint8Array([size]));
    cache.prepare(held);
    pending[0]?.finish();
    await flush();
    cache.prepare(dropped);
    pending[1]?.finish();
    await flush();
    cache.prepare(inFlight);
    cache.prepare(waiting);
    expect(pending.map((one) => one.size)).toEqual([5, 6, 7]);

    cache.retainOnly(new Set([held]));
    expect(closed).toEqual([6]);
    expect(cache.size).toBe(1);
    expect(cache.heldBytes).toBe(5 * 5 * 4);
    expect(cache.ready(held)?.width).toBe(5);
    // The decode in flight is closed when it lands; the waiting one never starts.
    pending[2]?.finish();
    await flush();
    expect(closed).toEqual([6, 7]);
    expect(pending.map((one) => one.size)).toEqual([5, 6, 7]);
    expect(cache.ready(inFlight)).toBeUndefined();
    expect(cache.ready(waiting)).toBeUndefined();
  });
});
