import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  WATCH_EVENT_DELIVERY,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import type { Session } from '../sessions/session';
import type { WatchCase } from '../fan-out/watch-event-kinds';
import { decodeEnvelope, encodeEnvelope } from './bus-envelope';
import type { ReplicaBus } from './replica-bus';

/** A watch event as the owner's listeners hand it over: its case and message. */
export type OwnedEvent = Exclude<
  WatchSessionResponse['event'],
  { case: 'snapshot' | 'keepalive' | undefined }
>;

/**
 * Watch events that come from a trainer message: a new owner does not
 * publish them again for messages the log already shows (the trainer
 * replays what was not acknowledged, which may have reached the log).
 */
const FROM_TRAINER_MESSAGE: ReadonlySet<WatchCase> = new Set<WatchCase>([
  'batch',
  'epoch',
  'scalars',
  'performance',
  'images',
  'confusion',
]);

interface Queued {
  readonly cursor: bigint;
  /** The session's last applied trainer sequence when the event was made. */
  readonly sequence: bigint;
  readonly snapshot: boolean;
  readonly message: Uint8Array;
}

/** First delay after a failed append; doubled per failure up to RETRY_MAX_MS. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 2000;
/** Failed appends (~1 min of retries) after which a publisher whose session left gives up. */
const CLOSED_GIVE_UP_FAILURES = 35;

/**
 * Publishes one owned session's watch events to its log on the replica bus,
 * with the log's own cursor: it continues after the log's last event, so a
 * watcher on any replica sees one gap-free sequence across owners.
 *
 * Cursors are given synchronously, in event order, once the log's last event
 * is known (`ready`); events before that wait in order. Appends run one at a
 * time per session, retried while the bus is away; at most `queueLimit`
 * wait. Past it the waiting events are dropped and, once the bus takes
 * appends again, a fresh snapshot is appended instead: watchers take it as a
 * new start, so nothing is silently missing.
 */
export class SessionPublisher {
  /** Cursor of the last lossless event given out. */
  private cursor = 0n;
  /** Highest trainer sequence the log showed when this replica took the session. */
  private shownUpTo = 0n;
  private started = false;
  private readonly early: { event: OwnedEvent; sequence: bigint }[] = [];
  private readonly queue: Queued[] = [];
  private appending = false;
  private resync = false;
  private closed = false;
  private failures = 0;
  private ready: Promise<void>;
  /** Callers of settled() waiting for the queue to empty. */
  private settledWaiters: (() => void)[] = [];

  constructor(
    private readonly session: Session,
    private readonly bus: ReplicaBus,
    private readonly queueLimit: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.ready = this.start();
  }

  /** Publishes one event (called synchronously from the session event listener). */
  publish(event: OwnedEvent): void {
    if (this.closed) return;
    const sequence = this.session.lastSequence;
    if (!this.started) {
      if (this.early.length >= this.queueLimit) {
        this.early.length = 0;
        this.resync = true;
      }
      this.early.push({ event, sequence });
      return;
    }
    this.give(event, sequence);
  }

  /**
   * The snapshot a watcher starts from, with the log's cursor: every event it
   * holds has been given a cursor at or below it (cursors are given
   * synchronously, so the session's state and the cursor agree).
   */
  async snapshot(): Promise<WatchSessionResponse> {
    await this.ready;
    return this.snapshotNow();
  }

  /** Stops publishing once what waits has been appended (or at once with `drop`). */
  close({ drop = false } = {}): void {
    this.closed = true;
    if (drop) this.queue.length = 0;
  }

  /**
   * Publishes again after close (the trainer came back to this replica).
   * With nothing left to append, the log is read again first: another
   * replica may have owned the session meanwhile. With appends still
   * waiting, no other owner can have written after them, so it goes on.
   */
  reopen(): void {
    if (!this.closed) return;
    this.closed = false;
    if (this.queue.length === 0 && !this.appending) {
      this.started = false;
      this.ready = this.start();
    }
  }

  /**
   * Resolves once every event given so far is in the log (or dropped because
   * the session left this replica and the bus stayed away).
   */
  async settled(): Promise<void> {
    await this.ready;
    if (this.queue.length === 0 && !this.appending) return;
    await new Promise<void>((resolve) => this.settledWaiters.push(resolve));
  }

  /** Events waiting for the bus (for metrics and tests). */
  get waiting(): number {
    return this.queue.length + this.early.length;
  }

  private snapshotNow(): WatchSessionResponse {
    return create(WatchSessionResponseSchema, {
      cursor: this.cursor,
      event: { case: 'snapshot', value: this.session.toSnapshot() },
    });
  }

  private async start(): Promise<void> {
    let last;
    for (;;) {
      try {
        last = await this.bus.lastEvent(this.session.id);
        break;
      } catch (error) {
        this.onError(error);
        await delay(this.nextRetryDelay());
        if (this.closed) return;
      }
    }
    this.failures = 0;
    if (last === undefined) {
      this.cursor = this.session.cursor;
    } else {
      const { sequence, message } = decodeEnvelope(last.payload);
      this.cursor = fromBinary(WatchSessionResponseSchema, message).cursor;
      this.shownUpTo = sequence;
    }
    this.started = true;
    for (const { event, sequence } of this.early.splice(0)) this.give(event, sequence);
    if (this.resync) this.enqueue(this.snapshotItem());
    this.resync = false;
  }

  private give(event: OwnedEvent, sequence: bigint): void {
    // Already in the log under the previous owner: the trainer replayed it here.
    if (sequence !== 0n && sequence <= this.shownUpTo && FROM_TRAINER_MESSAGE.has(event.case)) {
      return;
    }
    const lossless = WATCH_EVENT_DELIVERY[event.case] === 'lossless';
    // A latest-wins value (an image frame) nobody follows anywhere is neither encoded nor sent.
    if (!lossless && !this.bus.wantsBroadcast(this.session.id)) return;
    if (lossless) this.cursor += 1n;
    const message = toBinary(
      WatchSessionResponseSchema,
      create(WatchSessionResponseSchema, { cursor: this.cursor, event }),
    );
    // Latest-wins values (image frames) are not kept: whoever listens now gets the newest.
    if (lossless) this.enqueue({ cursor: this.cursor, sequence, snapshot: false, message });
    else this.bus.broadcast(this.session.id, message);
  }

  private snapshotItem(): Queued {
    const message = toBinary(WatchSessionResponseSchema, this.snapshotNow());
    return { cursor: this.cursor, sequence: this.session.lastSequence, snapshot: true, message };
  }

  private enqueue(item: Queued): void {
    if (this.queue.length >= this.queueLimit) {
      // The bus is away for long: keep the newest state instead of a backlog.
      this.queue.length = 0;
      this.queue.push(this.snapshotItem());
    } else {
      this.queue.push(item);
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.appending) return;
    this.appending = true;
    try {
      while (this.queue.length > 0) {
        const item = this.queue[0] as Queued;
        const payload = encodeEnvelope(item.sequence, item.message);
        try {
          // The same id on a retry (the bus may have taken it before the answer was lost).
          const dedupeId = `${this.session.id}:${item.cursor}:${item.snapshot ? 's' : 'e'}`;
          await this.bus.append(this.session.id, payload, dedupeId);
          this.failures = 0;
          this.queue.shift();
        } catch (error) {
          this.onError(error);
          if (this.closed && this.failures >= CLOSED_GIVE_UP_FAILURES) {
            // The session left this replica and the bus stays away: its next owner resyncs watchers.
            this.queue.length = 0;
            break;
          }
          await delay(this.nextRetryDelay());
        }
      }
    } finally {
      this.appending = false;
      if (this.queue.length === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
    }
  }

  private nextRetryDelay(): number {
    this.failures += 1;
    return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
