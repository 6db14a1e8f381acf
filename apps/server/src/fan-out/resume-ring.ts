import { toBinary } from '@bufbuild/protobuf';
import { WatchSessionResponseSchema, type WatchSessionResponse } from '@trainwatch/proto';

/** Bounds of one session's ring of recent lossless watch events. */
export interface ResumeRingBounds {
  /** Most events kept (WATCH_RESUME_EVENTS). */
  maxEvents: number;
  /** Most encoded bytes kept, estimated (WATCH_RESUME_BYTES). */
  maxBytes: number;
}

/**
 * Bytes an event takes, cheaply: batches, scalars and confusion increments
 * (one per batch that carries predictions) are the bulk of a stream and are
 * estimated from their fields without encoding them; the rare rest
 * (status, command, metadata, epoch) are encoded once. Encoding each
 * confusion increment here was ~2.5% of the event loop at 40 trainers
 * (CPU profile).
 */
export function estimatedEventBytes(event: WatchSessionResponse): number {
  const value = event.event;
  if (value.case === 'batch' || value.case === 'scalars') {
    let bytes = 64;
    const values = value.case === 'batch' ? value.value.metrics : value.value.values;
    for (const name in values) bytes += name.length + 12;
    return bytes;
  }
  if (value.case === 'confusion') {
    const matrix = value.value;
    // Packed varints: class ids and counts of one or two bytes each, plus tags and the header fields.
    const entries =
      matrix.truthClasses.length +
      matrix.predictedClasses.length +
      matrix.counts.length +
      matrix.rowClasses.length +
      matrix.rowTotals.length +
      matrix.rowCorrect.length;
    return 24 + Math.ceil(1.5 * entries);
  }
  return toBinary(WatchSessionResponseSchema, event).byteLength;
}

/**
 * The newest lossless watch events of one live session, so a watcher whose
 * stream broke can resume from its last cursor without a new snapshot. Kept
 * within `maxEvents` and `maxBytes`: the oldest go first. Cursors in the
 * ring are consecutive (the fan-out pushes every lossless event in order).
 */
export class ResumeRing {
  private readonly events: WatchSessionResponse[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly bounds: ResumeRingBounds) {}

  get size(): number {
    return this.events.length - this.head;
  }

  push(event: WatchSessionResponse): void {
    const bytes = estimatedEventBytes(event);
    this.events.push(event);
    this.sizes.push(bytes);
    this.bytes += bytes;
    while (
      this.size > 0 &&
      (this.size > this.bounds.maxEvents || this.bytes > this.bounds.maxBytes)
    ) {
      this.bytes -= this.sizes[this.head] as number;
      this.head += 1;
    }
    // Compact now and then so the arrays do not grow with the run.
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Whether the ring still holds every event it was given after `cursor` (true when it was given none). */
  holdsAfter(cursor: bigint): boolean {
    const first = this.events[this.head];
    return first === undefined || first.cursor <= cursor + 1n;
  }

  /**
   * Every event after `cursor`, in order, when the ring still holds all of
   * them (an empty list when `cursor` is the newest); undefined when some
   * were already dropped or `cursor` is not one of this ring's (ahead of it).
   */
  since(cursor: bigint, current: bigint): WatchSessionResponse[] | undefined {
    if (cursor > current) return undefined;
    if (cursor === current) return [];
    const first = this.events[this.head];
    if (first === undefined || first.cursor > cursor + 1n) return undefined;
    const offset = Number(cursor + 1n - first.cursor);
    const replay = this.events.slice(this.head + offset);
    // Only consecutive cursors up to the session's: anything else is not a resumable history.
    const last = replay.at(-1);
    if (last === undefined || last.cursor !== current) return undefined;
    return replay;
  }
}
