import { TileDecoder } from './tile-decoder';

/** A decode the test finishes by hand, with a bitmap that records whether it was closed. */
function manualDecodes() {
  const pending: { bytes: Uint8Array; finish: () => void; closed: () => boolean }[] = [];
  const decode = (bytes: Uint8Array) =>
    new Promise<ImageBitmap>((resolve) => {
      let closed = false;
      const bitmap = {
        width: 8,
        height: 8,
        close: () => (closed = true),
        bytes,
      } as unknown as ImageBitmap;
      pending.push({ bytes, finish: () => resolve(bitmap), closed: () => closed });
    });
  return { pending, decode };
}

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const image = (n: number) => new Uint8Array([n]);

describe('TileDecoder', () => {
  it('decodes one image at a time, latest wins, and closes every bitmap', async () => {
    const { pending, decode } = manualDecodes();
    const drawn: number[] = [];
    const decoder = new TileDecoder(
      (bitmap) => drawn.push((bitmap as unknown as { bytes: Uint8Array }).bytes[0] ?? -1),
      decode,
    );
    decoder.show(image(1), 'a');
    // Three more arrive while the first decodes: only the newest is decoded next.
    decoder.show(image(2));
    decoder.show(image(3));
    decoder.show(image(4));
    expect(pending).toHaveLength(1);
    pending[0]?.finish();
    await flush();
    // 1 is stale (4 waits), so it is not painted; 4 is decoded next.
    expect(drawn).toEqual([]);
    expect(pending.map((one) => one.bytes[0])).toEqual([1, 4]);
    pending[1]?.finish();
    await flush();
    expect(drawn).toEqual([4]);
    expect(pending.every((one) => one.closed())).toBe(true);
  });

  it('paints nothing after dispose and still closes the bitmap in flight', async () => {
    const { pending, decode } = manualDecodes();
    const drawn: unknown[] = [];
    const decoder = new TileDecoder((bitmap) => drawn.push(bitmap), decode);
    decoder.show(image(1));
    decoder.dispose();
    decoder.show(image(2));
    pending[0]?.finish();
    await flush();
    expect(drawn).toEqual([]);
    expect(pending).toHaveLength(1);
    expect(pending[0]?.closed()).toBe(true);
  });

  it('keeps the last picture when bytes do not decode, and goes on with the next', async () => {
    const drawn: unknown[] = [];
    let calls = 0;
    const decoder = new TileDecoder(
      (bitmap) => drawn.push(bitmap),
      () => {
        calls += 1;
        return calls === 1
          ? Promise.reject(new Error('not a JPEG'))
          : Promise.resolve({ close: () => undefined } as unknown as ImageBitmap);
      },
    );
    decoder.show(image(1));
    await flush();
    decoder.show(image(2));
    await flush();
    expect(drawn).toHaveLength(1);
  });

  it('does not decode again a picture the canvas already shows, only relabels it', async () => {
    const { pending, decode } = manualDecodes();
    const drawn: string[] = [];
    const relabelled: string[] = [];
    const decoder = new TileDecoder(
      (_bitmap, key) => drawn.push(key),
      decode,
      (key) => relabelled.push(key),
    );
    decoder.show(image(7), 'step 1');
    pending[0]?.finish();
    await flush();
    expect(drawn).toEqual(['step 1']);
    // The same sample logged with the next batch: equal bytes in a new array.
    decoder.show(image(7), 'step 2');
    await flush();
    expect(pending).toHaveLength(1);
    expect(relabelled).toEqual(['step 2']);
    // A different picture is decoded and painted as before.
    decoder.show(image(8), 'step 3');
    expect(pending).toHaveLength(2);
    pending[1]?.finish();
    await flush();
    expect(drawn).toEqual(['step 1', 'step 3']);
  });

  it('paints a picture asked again while it decodes once, under the newer key', async () => {
    const { pending, decode } = manualDecodes();
    const drawn: string[] = [];
    const decoder = new TileDecoder((_bitmap, key) => drawn.push(key), decode);
    decoder.show(image(5), 'step 40');
    // The prefetch answer brings the shown frame again, as new bytes of the same picture.
    decoder.show(image(5), 'step 40 again');
    pending[0]?.finish();
    await flush();
    expect(drawn).toEqual(['step 40 again']);
    // No second decode of the same picture.
    expect(pending).toHaveLength(1);
  });

  it('paints a picture decoded ahead at once, and drops the older decode in flight', async () => {
    const { pending, decode } = manualDecodes();
    const drawn: string[] = [];
    const ahead = new Map<number, ImageBitmap>([[9, { width: 8, height: 8 } as ImageBitmap]]);
    const decoder = new TileDecoder(
      (_bitmap, key) => drawn.push(key),
      decode,
      undefined,
      (bytes) => ahead.get(bytes[0] ?? -1),
    );
    decoder.show(image(1), 'step 10');
    decoder.show(image(9), 'step 9');
    // Painted in the same call: no decode to wait for.
    expect(drawn).toEqual(['step 9']);
    pending[0]?.finish();
    await flush();
    // The older picture, decoded late, does not cover it.
    expect(drawn).toEqual(['step 9']);
    expect(pending).toHaveLength(1);
    expect(pending[0]?.closed()).toBe(true);
  });
});
