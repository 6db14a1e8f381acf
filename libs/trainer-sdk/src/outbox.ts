import { SYSTEM_SERIES_PREFIX, type MetricsRequest } from '@trainwatch/proto';

/** Encoded image bytes held before the oldest frames lose their images (both SDKs). */
export const DEFAULT_IMAGE_BUDGET_BYTES = 64 * 1024 * 1024;

/** One message from the moment it is logged until the server acknowledges it. */
export interface OutboxEntry {
  /** Position in log order, from 1; names the entry before it has a sequence. */
  readonly logIndex: number;
  /** MetricsRequest.sequence, given when the entry is first written (0n until then). */
  sequence: bigint;
  /** The message; `sessionId` is filled in when it is written. */
  readonly request: MetricsRequest;
  /** Slots it takes: 1, plus 1 while it is a batch that still carries images. */
  slots: number;
  /** Times it was written (more than once means it was replayed). */
  writes: number;
  /** Encoded image bytes it holds. */
  imageBytes: number;
}

/** What the outbox threw away to stay inside its bounds. */
export type DroppedItem =
  | {
      kind: 'images';
      logIndex: number;
      sequence: bigint;
      epoch: number;
      batchIdx: number;
      imageCount: number;
    }
  | {
      kind: 'message';
      logIndex: number;
      sequence: bigint;
      payload: MetricsRequest['payload']['case'];
    };

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
 * Samples a newer one supersedes: performance figures, and scalars that are
 * all system series (the SDK samples them every second or two).
 */
export function isLatestWinsSample(request: MetricsRequest): boolean {
  const payload = request.payload;
  if (payload.case === 'performanceData') return true;
  if (payload.case !== 'scalars') return false;
  const names = Object.keys(payload.value.values);
  return names.length > 0 && names.every((name) => name.startsWith(SYSTEM_SERIES_PREFIX));
}

/**
 * The SDK's only message buffer: every message from the moment it is logged
 * until the server acknowledges it, so it can be replayed after a reconnect.
 * The behaviour is the one both SDKs share, written down in
 * libs/sdk-scenarios/README.md and checked by its scenarios.
 *
 * Sequences are given when a message is first written to a stream, in log
 * order: a message dropped before it was ever sent leaves no gap, and one
 * logged while a restarted trainer re-registers gets a number above what the
 * server already applied (numbering at log time would reuse numbers the
 * server would discard as duplicates). A written message keeps its number, so
 * a replay is recognised and applied once.
 *
 * Bounds: at most `bound` slots (a message takes one, a batch's image frame
 * one more) and at most `imageBudgetBytes` of encoded images. Room is made in
 * this order, every drop counted and handed to `onDrop`:
 * 1. the images (and predictions, ground truth) of the oldest batch that
 *    still has some, the new one counting as newest; its scalars stay;
 * 2. the oldest latest-wins sample (performance, system scalars);
 * 3. the oldest message of any kind except a command result.
 * Command results are never dropped: a dashboard (and the audit log) waits
 * for each one. When only they are left they may exceed the bound; there are
 * few, because the server keeps a small number of commands in flight.
 *
 * All operations are O(1) amortised: insertion-ordered Maps give the oldest
 * entry of each kind and O(1) removal.
 */
export class Outbox {
  /** Every held entry by logIndex, oldest first. */
  private readonly entries = new Map<number, OutboxEntry>();
  /** Written entries by sequence, for acknowledgements. */
  private readonly bySequence = new Map<bigint, OutboxEntry>();
  /** Subset of `entries` not yet written on the current connection. */
  private readonly unsent = new Map<number, OutboxEntry>();
  /** Subset of `entries` that still carry images, oldest first. */
  private readonly withImages = new Map<number, OutboxEntry>();
  /** Subset of `entries` that are latest-wins samples, oldest first. */
  private readonly samples = new Map<number, OutboxEntry>();
  /** Subset of `entries` that may be dropped (all but command results), oldest first. */
  private readonly droppable = new Map<number, OutboxEntry>();
  private usedSlots = 0;
  private heldImageBytes = 0;
  private logged = 0;
  private nextSequence = 1n;
  private highestAckedSequence = 0n;
  private readonly counters: OutboxCounters = { droppedImageFrames: 0, droppedMessages: 0 };

  /**
   * @param bound most slots in use at once (>= 1)
   * @param onDrop told about every drop, synchronously
   * @param imageBudgetBytes most encoded image bytes held
   */
  constructor(
    private bound: number,
    private readonly onDrop: (item: DroppedItem) => void = () => undefined,
    private readonly imageBudgetBytes = DEFAULT_IMAGE_BUDGET_BYTES,
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

  /** Encoded image bytes held. */
  get imageBytes(): number {
    return this.heldImageBytes;
  }

  /** Messages waiting to be written on the current connection. */
  get pending(): number {
    return this.unsent.size;
  }

  /** Last sequence given to a message (0n before the first write). */
  get lastSequence(): bigint {
    return this.nextSequence - 1n;
  }

  /** Highest sequence the server acknowledged (SessionInfo.resume_from_sequence). */
  get highestAcked(): bigint {
    return this.highestAckedSequence;
  }

  /** Drop counters since creation. */
  get dropped(): Readonly<OutboxCounters> {
    return this.counters;
  }

  /** Held entries, oldest first (for inspection and tests). */
  held(): OutboxEntry[] {
    return [...this.entries.values()];
  }

  /** Changes the bound (e.g. to the server's buffer_size), shedding at once if it shrank. */
  resize(bound: number): void {
    Outbox.checkBound(bound);
    this.bound = bound;
    this.enforce(undefined);
  }

  /** Adds a message (unnumbered), making room first if a bound is reached. */
  push(request: MetricsRequest): OutboxEntry | undefined {
    const hasImages =
      request.payload.case === 'batchData' && request.payload.value.images.length > 0;
    const entry: OutboxEntry = {
      logIndex: ++this.logged,
      sequence: 0n,
      request,
      slots: hasImages ? 2 : 1,
      writes: 0,
      imageBytes: imageBytes(request),
    };
    if (!this.enforce(entry)) {
      this.counters.droppedMessages++;
      this.onDrop({
        kind: 'message',
        logIndex: entry.logIndex,
        sequence: 0n,
        payload: request.payload.case,
      });
      return undefined;
    }
    this.entries.set(entry.logIndex, entry);
    this.unsent.set(entry.logIndex, entry);
    this.usedSlots += entry.slots;
    this.heldImageBytes += entry.imageBytes;
    if (entry.slots === 2) this.withImages.set(entry.logIndex, entry);
    if (isLatestWinsSample(request)) this.samples.set(entry.logIndex, entry);
    if (request.payload.case !== 'commandResult') this.droppable.set(entry.logIndex, entry);
    return entry;
  }

  /** The oldest message not yet written on this connection, without removing it. */
  peekUnsent(): OutboxEntry | undefined {
    return first(this.unsent);
  }

  /**
   * Marks a message as written on this connection, numbering it on its first
   * write; returns its sequence.
   */
  markSent(entry: OutboxEntry): bigint {
    if (entry.sequence === 0n) {
      entry.sequence = this.nextSequence++;
      entry.request.sequence = entry.sequence;
      this.bySequence.set(entry.sequence, entry);
    }
    entry.writes++;
    this.unsent.delete(entry.logIndex);
    return entry.sequence;
  }

  /**
   * After a (re-)registration: the server applied everything up to
   * `lastApplied`; the rest is written again, in order, with the numbers it
   * has, and new numbers continue above both. Returns how many were removed.
   */
  resume(lastApplied: bigint): number {
    const removed = this.ackThrough(lastApplied);
    this.unsent.clear();
    for (const [logIndex, entry] of this.entries) this.unsent.set(logIndex, entry);
    if (this.nextSequence <= lastApplied) this.nextSequence = lastApplied + 1n;
    if (lastApplied > this.highestAckedSequence) this.highestAckedSequence = lastApplied;
    return removed;
  }

  /** Removes an acknowledged message; returns false when it was not held. */
  ack(sequence: bigint): boolean {
    if (sequence > this.highestAckedSequence) this.highestAckedSequence = sequence;
    const entry = this.bySequence.get(sequence);
    if (entry === undefined) return false;
    this.remove(entry);
    return true;
  }

  /** Removes every written message up to and including `sequence`; returns how many. */
  private ackThrough(sequence: bigint): number {
    let removed = 0;
    for (const entry of this.bySequence.values()) {
      if (entry.sequence > sequence) continue;
      this.remove(entry);
      removed++;
    }
    return removed;
  }

  private remove(entry: OutboxEntry): void {
    this.entries.delete(entry.logIndex);
    this.bySequence.delete(entry.sequence);
    this.unsent.delete(entry.logIndex);
    this.withImages.delete(entry.logIndex);
    this.samples.delete(entry.logIndex);
    this.droppable.delete(entry.logIndex);
    this.usedSlots -= entry.slots;
    this.heldImageBytes -= entry.imageBytes;
  }

  private stripImages(entry: OutboxEntry, held: boolean): void {
    const payload = entry.request.payload;
    if (payload.case !== 'batchData') return;
    const batch = payload.value;
    const dropped = batch.images.length;
    batch.images = [];
    batch.predictions = [];
    batch.groundTruth = [];
    if (held) {
      this.withImages.delete(entry.logIndex);
      this.usedSlots -= 1;
      this.heldImageBytes -= entry.imageBytes;
    }
    entry.slots = 1;
    entry.imageBytes = 0;
    this.counters.droppedImageFrames++;
    this.onDrop({
      kind: 'images',
      logIndex: entry.logIndex,
      sequence: entry.sequence,
      epoch: batch.epoch,
      batchIdx: batch.batchIdx,
      imageCount: dropped,
    });
  }

  /**
   * Makes room for `incoming` (or sheds to the bound when undefined), in the
   * documented order. False when `incoming` itself must go: only command
   * results are held and it is not one.
   */
  private enforce(incoming: OutboxEntry | undefined): boolean {
    const extraSlots = incoming?.slots ?? 0;
    const extraBytes = incoming?.imageBytes ?? 0;
    // Images first, by their byte budget and by the slot bound.
    while (
      this.heldImageBytes + extraBytes > this.imageBudgetBytes ||
      this.usedSlots + extraSlots > this.bound
    ) {
      const oldest = first(this.withImages);
      if (oldest === undefined) break;
      this.stripImages(oldest, true);
    }
    if (incoming !== undefined && incoming.slots === 2) {
      if (
        this.heldImageBytes + incoming.imageBytes > this.imageBudgetBytes ||
        this.usedSlots + 2 > this.bound
      ) {
        this.stripImages(incoming, false);
      }
    }
    const needed = incoming?.slots ?? 0;
    while (this.usedSlots + needed > this.bound) {
      // The new message counts as the newest of its kind: a sample goes before older scalars.
      const victim =
        first(this.samples) ??
        (incoming !== undefined && isLatestWinsSample(incoming.request) ? incoming : undefined) ??
        first(this.droppable);
      if (victim === incoming && incoming !== undefined) return false;
      if (victim === undefined) {
        // Only command results are held: they stay; a new one joins them over the bound.
        return incoming === undefined || incoming.request.payload.case === 'commandResult';
      }
      this.remove(victim);
      this.counters.droppedMessages++;
      this.onDrop({
        kind: 'message',
        logIndex: victim.logIndex,
        sequence: victim.sequence,
        payload: victim.request.payload.case,
      });
    }
    return true;
  }
}

function first<V>(map: Map<unknown, V>): V | undefined {
  const next = map.values().next();
  return next.done ? undefined : next.value;
}
