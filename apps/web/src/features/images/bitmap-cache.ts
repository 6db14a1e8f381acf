/**
 * Pixel bytes of decoded pictures kept ready for the image history's
 * scrubbing (width × height × 4 each): 16 tiles of 64 × 64 take 256 KiB a
 * frame, so this holds the ~20 frames prefetched around the cursor many
 * times over; frames of large pictures hold fewer.
 */
export const MAX_PREDECODED_BYTES = 32 * 1024 * 1024;

/**
 * Pictures decoding ahead at once. A prefetch answer brings a dozen frames
 * of 16 pictures: started together, their decodes would queue ahead of the
 * picture the cursor shows now (and each start costs the main thread), so
 * they go a few at a time, nearest the cursor first.
 */
export const MAX_PREDECODES_IN_FLIGHT = 4;

/** A decoded picture and what it costs to hold. */
interface Entry {
  bitmap: ImageBitmap | undefined;
  bytes: number;
}

/** Decodes JPEG bytes into a bitmap off the main thread. */
export type BitmapDecode = (bytes: Uint8Array) => Promise<ImageBitmap>;

/**
 * WebCodecs' ImageDecoder where there is one (no Blob to register with the
 * browser process, see tile-decoder.ts), its frame turned into a bitmap
 * that outlives the decoder; elsewhere `createImageBitmap` on a Blob.
 */
const decodeBitmap: BitmapDecode = async (bytes) => {
  if (typeof ImageDecoder === 'function') {
    const decoder = new ImageDecoder({ data: bytes, type: 'image/jpeg' });
    try {
      const { image } = await decoder.decode();
      try {
        return await createImageBitmap(image);
      } finally {
        image.close();
      }
    } finally {
      decoder.close();
    }
  }
  // The Blob copies the bytes; the frame's own buffer is left as it is.
  return createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }));
};

/**
 * Pictures decoded before they are shown: the image history asks for the
 * frames it prefetched, so an arrow key press paints bitmaps already decoded
 * instead of waiting for 16 decodes. Keyed by the bytes' array (a stored
 * frame keeps its arrays while cached), least recently used closed and
 * dropped past `limitBytes`.
 */
export class BitmapCache {
  private readonly entries = new Map<Uint8Array, Entry>();
  /** Pictures waiting to decode, in the order asked (bounded by the entries' own bound). */
  private readonly queued: Uint8Array[] = [];
  private inFlight = 0;
  private held = 0;

  constructor(
    private readonly limitBytes = MAX_PREDECODED_BYTES,
    private readonly decode: BitmapDecode = decodeBitmap,
    private readonly maxInFlight = MAX_PREDECODES_IN_FLIGHT,
  ) {}

  /** Pictures held or being decoded. */
  get size(): number {
    return this.entries.size;
  }

  /** Pixel bytes held (for tests and the bound). */
  get heldBytes(): number {
    return this.held;
  }

  /** Decodes `bytes` (after those asked before) unless held or waiting already. */
  prepare(bytes: Uint8Array): void {
    if (this.entries.has(bytes)) return;
    this.entries.set(bytes, { bitmap: undefined, bytes: 0 });
    this.queued.push(bytes);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queued.length > 0) {
      const bytes = this.queued.shift() as Uint8Array;
      const entry = this.entries.get(bytes);
      // Cleared while it waited.
      if (entry === undefined) continue;
      this.inFlight++;
      this.decode(bytes)
        .then(
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
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
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

  /** Closes every picture held or waiting except those of `keep`. */
  retainOnly(keep: ReadonlySet<Uint8Array>): void {
    for (const [key, entry] of this.entries) {
      if (keep.has(key)) continue;
      // A decode in flight lands on a missing entry and is closed then.
      this.entries.delete(key);
      this.held -= entry.bytes;
      entry.bitmap?.close();
    }
    const waiting = this.queued.filter((bytes) => keep.has(bytes));
    this.queued.splice(0, this.queued.length, ...waiting);
  }

  /** Closes every picture held. */
  clear(): void {
    for (const entry of this.entries.values()) entry.bitmap?.close();
    this.entries.clear();
    this.queued.length = 0;
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

/**
 * Closes every picture decoded ahead except those of `pictures`: while the
 * image history follows the newest frame, only the frames a few steps back
 * are worth holding, not the whole bound's worth the cursor passed.
 */
export function keepPredecodedOnly(pictures: Iterable<Uint8Array>): void {
  tileBitmaps.retainOnly(new Set(pictures));
}

/** Closes every picture decoded ahead (the image history left the page). */
export function releasePredecoded(): void {
  tileBitmaps.clear();
}

/** Decodes `pictures` ahead where the browser can. */
export function predecode(pictures: Iterable<Uint8Array>): void {
  if (!canPredecode()) return;
  for (const bytes of pictures) tileBitmaps.prepare(bytes);
}
