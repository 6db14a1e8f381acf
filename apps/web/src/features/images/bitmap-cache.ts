/**
 * Pixel bytes of decoded pictures kept ready for the image history's
 * scrubbing (width × height × 4 each): 16 tiles of 64 × 64 take 256 KiB a
 * frame, so this holds the ~20 frames prefetched around the cursor many
 * times over; frames of large pictures hold fewer.
 */
export const MAX_PREDECODED_BYTES = 32 * 1024 * 1024;

/** A decoded picture and what it costs to hold. */
interface Entry {
  bitmap: ImageBitmap | undefined;
  bytes: number;
}

/** Decodes JPEG bytes into a bitmap off the main thread. */
export type BitmapDecode = (bytes: Uint8Array) => Promise<ImageBitmap>;

const decodeBitmap: BitmapDecode = (bytes) =>
  // The Blob copies the bytes; the frame's own buffer is left as it is.
  createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }));

/**
 * Pictures decoded before they are shown: the image history asks for the
 * frames it prefetched, so an arrow key press paints bitmaps already decoded
 * instead of waiting for 16 decodes. Keyed by the bytes' array (a stored
 * frame keeps its arrays while cached), least recently used closed and
 * dropped past `limitBytes`.
 */
export class BitmapCache {
  private readonly entries = new Map<Uint8Array, Entry>();
  private held = 0;

  constructor(
    private readonly limitBytes = MAX_PREDECODED_BYTES,
    private readonly decode: BitmapDecode = decodeBitmap,
  ) {}

  /** Pictures held or being decoded. */
  get size(): number {
    return this.entries.size;
  }

  /** Pixel bytes held (for tests and the bound). */
  get heldBytes(): number {
    return this.held;
  }

  /** Starts decoding `bytes` unless held already. */
  prepare(bytes: Uint8Array): void {
    if (this.entries.has(bytes)) return;
    const entry: Entry = { bitmap: undefined, bytes: 0 };
    this.entries.set(bytes, entry);
    this.decode(bytes).then(
      (bitmap) => {
        if (this.entries.get(bytes) !== entry) {
          bitmap.close();
          return;
        }
        entry.bitmap = bitmap;
        entry.bytes = bitmap.width * bitmap.height * 4;
        this.held += entry.bytes;
        this.evict(bytes);
      },
      () => {
        // Not a picture this browser decodes: the tile decodes it itself (and keeps its last one).
        if (this.entries.get(bytes) === entry) this.entries.delete(bytes);
      },
    );
  }

  /** The decoded picture of `bytes` when ready; the caller draws it and must not close it. */
  ready(bytes: Uint8Array): ImageBitmap | undefined {
    const entry = this.entries.get(bytes);
    if (entry?.bitmap === undefined) return undefined;
    // Most recently used last.
    this.entries.delete(bytes);
    this.entries.set(bytes, entry);
    return entry.bitmap;
  }

  /** Closes every picture held. */
  clear(): void {
    for (const entry of this.entries.values()) entry.bitmap?.close();
    this.entries.clear();
    this.held = 0;
  }

  private evict(keep: Uint8Array): void {
    for (const [key, entry] of this.entries) {
      if (this.held <= this.limitBytes) return;
      if (key === keep) continue;
      this.entries.delete(key);
      this.held -= entry.bytes;
      entry.bitmap?.close();
    }
  }
}

/** True where bitmaps can be decoded ahead (not in jsdom). */
const canPredecode = (): boolean => typeof createImageBitmap === 'function';

/** The page's pictures decoded ahead of the image history's cursor. */
export const tileBitmaps = new BitmapCache();

/** Decodes `pictures` ahead where the browser can. */
export function predecode(pictures: Iterable<Uint8Array>): void {
  if (!canPredecode()) return;
  for (const bytes of pictures) tileBitmaps.prepare(bytes);
}
