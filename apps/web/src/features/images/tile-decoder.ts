/**
 * Decodes one tile's JPEGs off the main thread (`createImageBitmap` on a
 * Blob: Chromium decodes it on a worker thread) and hands each bitmap to
 * `draw`, then closes it. Latest wins: while one decode runs, a newer image
 * replaces any waiting one, so a tile has at most one decode in flight and
 * one waiting, whatever the frame rate, and never paints an older picture
 * over a newer one.
 */
export class TileDecoder {
  private running = false;
  private waiting: { bytes: Uint8Array; key: string } | undefined;
  private disposed = false;

  constructor(
    private readonly draw: (bitmap: ImageBitmap, key: string) => void,
    private readonly decode: (bytes: Uint8Array) => Promise<ImageBitmap> = decodeJpeg,
  ) {}

  /** Asks for `bytes` to be drawn (after the decode in flight, if any); `key` names them to `draw`. */
  show(bytes: Uint8Array, key = ''): void {
    if (this.disposed) return;
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
      let bitmap: ImageBitmap | undefined;
      try {
        bitmap = await this.decode(bytes);
      } catch {
        // Not a picture this browser can decode: the tile keeps what it showed.
        continue;
      }
      // A newer image is waiting: skip painting this one.
      if (!this.disposed && this.waiting === undefined) this.draw(bitmap, key);
      bitmap.close();
    }
    this.running = false;
  }
}

/** True where the browser can decode off the main thread (not in jsdom). */
export const canDecodeBitmaps = (): boolean => typeof createImageBitmap === 'function';

function decodeJpeg(bytes: Uint8Array): Promise<ImageBitmap> {
  // The Blob copies the bytes; the frame's own buffer is left as it is.
  return createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }));
}
