/** A decoded picture to paint and then close: a VideoFrame (ImageDecoder) or an ImageBitmap. */
export type DecodedImage = (VideoFrame | ImageBitmap) & { close(): void };

/**
 * Decodes one tile's JPEGs off the main thread and hands each picture to
 * `draw`, then closes it. Latest wins: while one decode runs, a newer image
 * replaces any waiting one, so a tile has at most one decode in flight and
 * one waiting, whatever the frame rate, and never paints an older picture
 * over a newer one.
 */
export class TileDecoder {
  private running = false;
  private waiting: { bytes: Uint8Array; key: string } | undefined;
  private disposed = false;
  /** The bytes of the picture painted last (the newest copy of them). */
  private painted: Uint8Array | undefined;
  /** Bumped when a picture is painted at once: a decode in flight is older then. */
  private generation = 0;

  constructor(
    private readonly draw: (image: DecodedImage, key: string) => void,
    private readonly decode: (bytes: Uint8Array) => Promise<DecodedImage> = decodeJpeg,
    /** The picture painted last came again under `key`: nothing to decode or paint. */
    private readonly unchanged: (key: string) => void = () => undefined,
    /** A picture of `bytes` decoded ahead (BitmapCache): painted at once, and not closed here. */
    private readonly predecoded: (bytes: Uint8Array) => ImageBitmap | undefined = () => undefined,
  ) {}

  /** Asks for `bytes` to be drawn (after the decode in flight, if any); `key` names them to `draw`. */
  show(bytes: Uint8Array, key = ''): void {
    if (this.disposed) return;
    const ready = this.predecoded(bytes);
    if (ready !== undefined) {
      this.waiting = undefined;
      this.generation++;
      this.draw(ready as DecodedImage, key);
      this.painted = bytes;
      return;
    }
    this.waiting = { bytes, key };
    if (!this.running) void this.run();
  }

  /** Stops drawing; a decode in flight is closed when it lands. */
  dispose(): void {
    this.disposed = true;
    this.waiting = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.waiting !== undefined && !this.disposed) {
      const { bytes, key } = this.waiting;
      this.waiting = undefined;
      // A run that logs the same samples every batch (to watch their predictions
      // change) sends the same picture again: the canvas already shows it.
      if (this.painted !== undefined && sameBytes(bytes, this.painted)) {
        this.painted = bytes;
        this.unchanged(key);
        continue;
      }
      const generation = this.generation;
      let bitmap: DecodedImage | undefined;
      try {
        bitmap = await this.decode(bytes);
      } catch {
        // Not a picture this browser can decode: the tile keeps what it showed.
        continue;
      }
      // The same picture asked again meanwhile (the frame sent once more): paint it under the
      // newer key rather than decode it twice.
      // (Set by show() during the await, which the compiler cannot see.)
      const next = this.waiting as { bytes: Uint8Array; key: string } | undefined;
      const again = next !== undefined && sameBytes(next.bytes, bytes);
      const drawnKey = again ? next.key : key;
      if (again) this.waiting = undefined;
      // A newer image is waiting, or one decoded ahead was painted meanwhile: skip this one.
      if (!this.disposed && this.waiting === undefined && generation === this.generation) {
        this.draw(bitmap, drawnKey);
        this.painted = bytes;
      }
      bitmap.close();
    }
    this.running = false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True where the browser can decode off the main thread (not in jsdom). */
export const canDecodeBitmaps = (): boolean =>
  typeof ImageDecoder === 'function' || typeof createImageBitmap === 'function';

/**
 * WebCodecs' ImageDecoder where there is one: it takes the bytes as they are
 * and decodes on its own thread. Measured in Chromium at 16 images five times
 * a second, the Blob that `createImageBitmap` needs cost the main thread 5%
 * of its time (a Blob is registered with the browser process); this path
 * has no Blob. Elsewhere, `createImageBitmap` on a Blob.
 */
async function decodeJpeg(bytes: Uint8Array): Promise<DecodedImage> {
  if (typeof ImageDecoder === 'function') {
    const decoder = new ImageDecoder({ data: bytes, type: 'image/jpeg' });
    try {
      return (await decoder.decode()).image;
    } finally {
      decoder.close();
    }
  }
  // The Blob copies the bytes; the frame's own buffer is left as it is.
  return createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }));
}
