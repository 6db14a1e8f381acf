import type { MetricsRequest } from '@trainwatch/proto';

/** One sequenced message waiting for the server's acknowledgement. */
export interface OutboxEntry {
  readonly sequence: bigint;
  /** The message; `sessionId` is filled in when it is written. */
  readonly request: MetricsRequest;
  /** Slots it takes: 1, plus 1 while it is a batch that still carries images. */
  slots: number;
  /** Times it was written (more than once means it was replayed). */
  writes: number;
  /** Encoded image bytes it holds. */
  imageBytes: number;
}

/** What the outbox threw away to stay inside its bound. */
export type DroppedItem =
  | { kind: 'images'; sequence: bigint; epoch: number; batchIdx: number; imageCount: number }
  | { kind: 'message'; sequence: bigint; payload: MetricsRequest['payload']['case'] };

/** Counters the outbox keeps; see TrainingSession.stats() for the public view. */
export interface OutboxCounters {
  droppedImageFrames: number;
  droppedMessages: number;
}

function imageBytes(request: MetricsRequest): number {
  if (request.payload.case !== 'batchData') return 0;
  let bytes = 0;
  for (const image of request.payload.value.images) bytes += image.imageBytes.byteLength;
  return bytes;
}

/**
 * The SDK's only message buffer: every sequenced message from the moment it
 * is logged until the server acknowledges it, so it can be replayed after a
 * reconnect.
 *
 * Bound: at most `bound` slots. A message takes one slot; a batch's image
 * frame takes one more (images are where the bytes are). When a new message
 * needs slots and none are free, room is made in this order:
 * 1. drop the images (and their predictions and ground truth) of the oldest
 *    buffered batch that still has some; its loss, epoch and index stay;
 * 2. drop the images of the new batch itself;
 * 3. drop the oldest performance sample (newer ones supersede it);
 * 4. drop the oldest message of any kind except a command result.
 * Every drop is counted and handed to `onDrop`; nothing is dropped silently.
 *
 * Command results are never dropped: a dashboard (and the audit log) waits
 * for each one. When only command results are left they may exceed the bound;
 * there are few, because the server keeps a small number of commands in
 * flight per session and the SDK answers each command id once.
 *
 * All operations are O(1) amortised: insertion-ordered Maps give the oldest
 * entry of each kind and O(1) removal by sequence.
 */
export class Outbox {
  private readonly entries = new Map<bigint, OutboxEntry>();
  /** Subset of `entries` not yet written on the current connection. */
  private readonly unsent = new Map<bigint, OutboxEntry>();
  /** Subset of `entries` that still carry images, oldest first. */
  private readonly withImages = new Map<bigint, OutboxEntry>();
  /** Subset of `entries` that are performance samples, oldest first. */
  private readonly performance = new Map<bigint, OutboxEntry>();
  /** Subset of `entries` that may be dropped (all but command results), oldest first. */
  private readonly droppable = new Map<bigint, OutboxEntry>();
  private usedSlots = 0;
  private heldImageBytes = 0;
  private readonly counters: OutboxCounters = { droppedImageFrames: 0, droppedMessages: 0 };

  /**
   * @param bound most slots in use at once (>= 1)
   * @param onDrop told about every drop, synchronously
   */
  constructor(
    private bound: number,
    private readonly onDrop: (item: DroppedItem) => void = () => undefined,
  ) {
    Outbox.checkBound(bound);
  }

  private static checkBound(bound: number): void {
    if (!Number.isInteger(bound) || bound < 1) {
      throw new RangeError(`buffer bound must be an integer >= 1, got ${bound}`);
    }
  }

  /** Current bound, in slots. */
  get capacity(): number {
    return this.bound;
  }

  /** Slots in use (messages plus image frames). */
  get slotsInUse(): number {
    return this.usedSlots;
  }

  /** Messages held (sent but unacknowledged, or not yet sent). */
  get size(): number {
    return this.entries.size;
  }

  /** Held batches that still carry images. */
  get imageFrames(): number {
    return this.withImages.size;
  }

  /** Encoded image bytes held (what the bound really protects). */
  get imageBytes(): number {
    return this.heldImageBytes;
  }

  /** Messages waiting to be written on the current connection. */
  get pending(): number {
    return this.unsent.size;
  }

  /** Drop counters since creation. */
  get dropped(): Readonly<OutboxCounters> {
    return this.counters;
  }

  /** Changes the bound (e.g. to the server's buffer_size), shedding at once if it shrank. */
  resize(bound: number): void {
    Outbox.checkBound(bound);
    this.bound = bound;
    while (this.usedSlots > this.bound) {
      if (!this.makeRoom(undefined)) break;
    }
  }

  /** Adds a sequenced message, making room first if the bound is reached. */
  push(sequence: bigint, request: MetricsRequest): void {
    const hasImages =
      request.payload.case === 'batchData' && request.payload.value.images.length > 0;
    const entry: OutboxEntry = {
      sequence,
      request,
      slots: hasImages ? 2 : 1,
      writes: 0,
      imageBytes: imageBytes(request),
    };
    while (this.usedSlots + entry.slots > this.bound) {
      if (this.makeRoom(entry)) continue;
      // Only command results are held: they stay, and a new scalar is the one to go.
      if (request.payload.case === 'commandResult') break;
      this.counters.droppedMessages++;
      this.onDrop({ kind: 'message', sequence, payload: request.payload.case });
      return;
    }
    this.entries.set(sequence, entry);
    this.unsent.set(sequence, entry);
    this.usedSlots += entry.slots;
    this.heldImageBytes += entry.imageBytes;
    if (entry.slots === 2) this.withImages.set(sequence, entry);
    if (request.payload.case === 'performanceData') this.performance.set(sequence, entry);
    if (request.payload.case !== 'commandResult') this.droppable.set(sequence, entry);
  }

  /** The oldest message not yet written on this connection, without removing it. */
  peekUnsent(): OutboxEntry | undefined {
    const first = this.unsent.values().next();
    return first.done ? undefined : first.value;
  }

  /** Marks a message as written on this connection. */
  markSent(sequence: bigint): void {
    const entry = this.unsent.get(sequence);
    if (entry !== undefined) entry.writes++;
    this.unsent.delete(sequence);
  }

  /** After a reconnect everything unacknowledged must be written again, in order. */
  requeueAll(): number {
    this.unsent.clear();
    for (const [sequence, entry] of this.entries) this.unsent.set(sequence, entry);
    return this.unsent.size;
  }

  /** Removes an acknowledged message; returns false when it was not held. */
  ack(sequence: bigint): boolean {
    const entry = this.entries.get(sequence);
    if (entry === undefined) return false;
    this.remove(entry);
    return true;
  }

  /** Removes every message up to and including `sequence` (the server applied them); returns how many. */
  ackThrough(sequence: bigint): number {
    let removed = 0;
    for (const entry of this.entries.values()) {
      if (entry.sequence > sequence) break;
      this.remove(entry);
      removed++;
    }
    return removed;
  }

  private remove(entry: OutboxEntry): void {
    this.entries.delete(entry.sequence);
    this.unsent.delete(entry.sequence);
    this.withImages.delete(entry.sequence);
    this.performance.delete(entry.sequence);
    this.droppable.delete(entry.sequence);
    this.usedSlots -= entry.slots;
    this.heldImageBytes -= entry.imageBytes;
  }

  private stripImages(entry: OutboxEntry): void {
    const payload = entry.request.payload;
    if (payload.case !== 'batchData') return;
    const batch = payload.value;
    const dropped = batch.images.length;
    batch.images = [];
    batch.predictions = [];
    batch.groundTruth = [];
    entry.slots = 1;
    this.heldImageBytes -= entry.imageBytes;
    entry.imageBytes = 0;
    this.counters.droppedImageFrames++;
    this.onDrop({
      kind: 'images',
      sequence: entry.sequence,
      epoch: batch.epoch,
      batchIdx: batch.batchIdx,
      imageCount: dropped,
    });
  }

  /**
   * Frees at least one slot, in the documented order; false when only
   * command results are left (they are kept over the bound).
   */
  private makeRoom(incoming: OutboxEntry | undefined): boolean {
    const oldestImages = first(this.withImages);
    if (oldestImages !== undefined) {
      this.withImages.delete(oldestImages.sequence);
      this.stripImages(oldestImages);
      this.usedSlots -= 1;
      return true;
    }
    if (incoming !== undefined && incoming.slots === 2) {
      this.stripImages(incoming);
      return true;
    }
    const victim = first(this.performance) ?? first(this.droppable);
    if (victim === undefined) return false;
    this.remove(victim);
    this.counters.droppedMessages++;
    this.onDrop({
      kind: 'message',
      sequence: victim.sequence,
      payload: victim.request.payload.case,
    });
    return true;
  }
}

function first<V>(map: Map<unknown, V>): V | undefined {
  const next = map.values().next();
  return next.done ? undefined : next.value;
}
