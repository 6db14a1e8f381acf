/** Bytes of shared memory reserved at a time for stored frames (a 16 × 2 KB frame is ~33 KB). */
export const SHARED_SLAB_BYTES = 1024 * 1024;
/**
 * Free slabs the pool keeps for the next batches (32 MiB). A batch at 44
 * trainers × 60 msg/s × 16 × 2 KB holds a few slabs; past this bound a
 * released slab is left to the garbage collector.
 */
export const MAX_POOLED_SLABS = 32;

/**
 * Slabs of shared memory for stored frames, reused from one batch to the
 * next. A new SharedArrayBuffer is zero-filled and its pages faulted in on
 * first write, and V8 counts its backing store as external memory, which
 * starts garbage collections: at 44 trainers × 16 × 2 KB that is ~80 MB/s
 * of fresh memory (CPU profile of the built server: writing the image
 * bytes into new slabs 7.3% of the event loop, garbage collection 10.6%;
 * copying 2 KB images into reused slabs takes half the time of new ones).
 * A slab returns to the pool only when the commit holding its batch has
 * succeeded: the write thread is done with it, and a failed batch keeps its
 * frames for the retry.
 */
export class SharedSlabPool {
  private readonly free: SharedArrayBuffer[] = [];

  /** Free slabs held now (for tests and metrics). */
  get pooled(): number {
    return this.free.length;
  }

  /** Memory for one batch's frames. */
  memory(): SharedFrameMemory {
    return new SharedFrameMemory(this);
  }

  take(): SharedArrayBuffer {
    return this.free.pop() ?? new SharedArrayBuffer(SHARED_SLAB_BYTES);
  }

  give(slabs: readonly SharedArrayBuffer[]): void {
    for (const slab of slabs) {
      if (this.free.length >= MAX_POOLED_SLABS) return;
      if (slab.byteLength === SHARED_SLAB_BYTES) this.free.push(slab);
    }
  }
}

/**
 * Buffers in shared memory for one batch's stored frames: the write thread
 * reads them where they lie (a SharedArrayBuffer is not copied by
 * postMessage), and the batch keeps them for a retry. Carved from slabs of
 * SHARED_SLAB_BYTES (a SharedArrayBuffer per frame cost ~2% of the event
 * loop at 40 trainers, CPU profile); a frame larger than a slab gets one of
 * its own, never pooled.
 */
export class SharedFrameMemory {
  private readonly slabs: SharedArrayBuffer[] = [];
  private slab: SharedArrayBuffer | undefined;
  private used = 0;

  /** @param pool where slabs come from and go back to; without one, slabs are left to the garbage collector. */
  constructor(private readonly pool?: SharedSlabPool) {}

  readonly allocate = (size: number): Buffer => {
    if (this.slab === undefined || this.used + size > this.slab.byteLength) {
      this.slab =
        size > SHARED_SLAB_BYTES
          ? new SharedArrayBuffer(size)
          : (this.pool?.take() ?? new SharedArrayBuffer(SHARED_SLAB_BYTES));
      this.slabs.push(this.slab);
      this.used = 0;
    }
    const buffer = Buffer.from(this.slab, this.used, size);
    // 8-byte aligned starts, as Buffer.allocUnsafe's pool keeps them.
    this.used += (size + 7) & ~7;
    return buffer;
  };

  /**
   * Hands the slabs back to the pool: call only once nothing reads the
   * buffers any more (the commit that wrote them succeeded). Buffers
   * allocated before are overwritten by later batches.
   */
  release(): void {
    this.pool?.give(this.slabs);
    this.slabs.length = 0;
    this.slab = undefined;
    this.used = 0;
  }
}
