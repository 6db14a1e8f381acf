import { create, fromBinary } from '@bufbuild/protobuf';
import {
  adoptEncoded,
  WATCH_EVENT_DELIVERY,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { ResumeRing, type ResumeRingBounds } from '../fan-out/resume-ring';
import type { LatestWinsCase, Watcher } from '../fan-out/watcher';
import { decodeEnvelope } from './bus-envelope';
import type { BusEvent, Following, ReplicaBus } from './replica-bus';

/** What a watcher does with the next lossless event, given the cursor of the last one it took. */
export type Step = 'take' | 'skip' | 'gap';

/**
 * The one rule for lossless events off the log: the next cursor is taken,
 * older ones are skipped (a snapshot or catch-up already covered them), a
 * jump is a gap. A snapshot in the log (the owner could not publish for a
 * while and started over) is a new start when it is not older than what the
 * watcher has.
 */
export function stepOf(last: bigint, event: WatchSessionResponse): Step {
  if (event.event.case === 'snapshot') return event.cursor >= last ? 'take' : 'skip';
  if (event.cursor <= last) return 'skip';
  return event.cursor === last + 1n ? 'take' : 'gap';
}

/** One watcher of the follow, or a watch still joining (its live events wait in `pending`). */
export interface FollowMember {
  /** Cursor of the last lossless event handed to the watcher. */
  last: bigint;
  watcher?: Watcher;
  /** Live events that came while the watch was joining, bounded by `pendingLimit`. */
  pending?: WatchSessionResponse[];
  /** More than `pendingLimit` came while joining: the join starts over from a snapshot. */
  overflowed?: boolean;
  /** Called when the follow sees a gap in the log (the watcher is closed by the caller). */
  onGap(from: bigint, to: bigint): void;
}

/** Where the follow stood when a watch started joining: its catch-up reads the log up to here. */
export interface JoinPoint {
  /** Bus position of the newest event the follow had delivered (or started after). */
  readonly position: bigint;
  /** Cursor of that event (0n: the log was empty). */
  readonly cursor: bigint;
  /** The follow's recent events after `cursor` from the ring, when it holds them all. */
  readonly fromRing: (after: bigint) => WatchSessionResponse[] | undefined;
}

/**
 * One replica's follow of one session's log on the bus, shared by every
 * watcher of the session on this replica: one bus consumer and one decode
 * per event however many watch. Each event goes to each watcher's own
 * bounded lanes (Watcher), so a slow watcher overflows and closes on its own
 * and never slows the follow. A ring of its recent lossless events lets a
 * watch joining late (or resuming) catch up without reading the log again.
 */
export class SessionFollow {
  private readonly members = new Set<FollowMember>();
  private ring: ResumeRing;
  private position = 0n;
  private cursor = 0n;
  private holders = 0;
  private following: Following | undefined;
  private listening: Following | undefined;
  private closed = false;
  /** Resolves once the follow knows where the log ends and follows it. */
  readonly ready: Promise<void>;

  constructor(
    readonly sessionId: string,
    private readonly bus: ReplicaBus,
    private readonly ringBounds: ResumeRingBounds,
    private readonly pendingLimit: number,
    private readonly onIdle: (follow: SessionFollow) => void,
  ) {
    this.ring = new ResumeRing(ringBounds);
    this.ready = this.start();
  }

  /** Watches and joins that keep this follow open (it closes when the last one lets go). */
  get holderCount(): number {
    return this.holders;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  hold(): void {
    this.holders += 1;
  }

  /** Lets go of one hold; the follow stops with the last one. */
  release(): void {
    this.holders -= 1;
    if (this.holders > 0 || this.closed) return;
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.following?.close();
    this.listening?.close();
    this.members.clear();
    this.onIdle(this);
  }

  /**
   * Starts a join: from now on the member gets every live event in its
   * pending list; the returned point says what it must catch up to first.
   */
  beginJoin(member: FollowMember): JoinPoint {
    member.pending = [];
    this.members.add(member);
    const cursor = this.cursor;
    const ring = this.ring;
    return {
      position: this.position,
      cursor,
      // The ring as it is now: its newest event is the point's (checked synchronously below).
      fromRing: (after) => (ring === this.ring ? ring.since(after, cursor) : undefined),
    };
  }

  /** Ends a join: the member's pending events are the caller's to hand over; it now gets them live. */
  finishJoin(member: FollowMember): WatchSessionResponse[] {
    const pending = member.pending ?? [];
    member.pending = undefined;
    return pending;
  }

  leave(member: FollowMember): void {
    this.members.delete(member);
  }

  private async start(): Promise<void> {
    // Where the log ends now: every later event is followed live.
    const last = await this.bus.lastEvent(this.sessionId);
    if (this.closed) return;
    if (last !== undefined) {
      this.position = last.position;
      this.cursor = fromBinary(
        WatchSessionResponseSchema,
        decodeEnvelope(last.payload).message,
      ).cursor;
    }
    this.following = this.bus.follow(this.sessionId, this.position, (event) =>
      this.onLogged(event),
    );
    this.listening = this.bus.listen(this.sessionId, (payload) => this.onBroadcast(payload));
  }

  /** A lossless event (or the owner's fresh snapshot) from the log: decoded once for every watcher. */
  private onLogged(logged: BusEvent): void {
    const { message } = decodeEnvelope(logged.payload);
    const event = fromBinary(WatchSessionResponseSchema, message);
    // Watchers' streams write the owner's bytes as they came: no second encode on this replica.
    adoptEncoded(event, message);
    const kind = event.event.case;
    this.position = logged.position;
    if (kind === 'snapshot') {
      // A new start: the ring's events do not lead up to it, so joins behind it get a snapshot.
      if (event.cursor >= this.cursor) {
        this.ring = new ResumeRing(this.ringBounds);
        this.cursor = event.cursor;
      }
    } else if (kind !== undefined && WATCH_EVENT_DELIVERY[kind] === 'lossless') {
      if (event.cursor <= this.cursor) return;
      if (event.cursor !== this.cursor + 1n) this.ring = new ResumeRing(this.ringBounds);
      this.cursor = event.cursor;
      this.ring.push(event);
    } else {
      return;
    }
    for (const member of [...this.members]) this.deliver(member, event);
  }

  private deliver(member: FollowMember, event: WatchSessionResponse): void {
    if (member.pending !== undefined) {
      if (member.pending.length >= this.pendingLimit) member.overflowed = true;
      else member.pending.push(event);
      return;
    }
    const watcher = member.watcher;
    if (watcher === undefined || watcher.isClosed) return;
    const step = stepOf(member.last, event);
    if (step === 'skip') return;
    if (step === 'gap') {
      member.onGap(member.last + 1n, event.cursor - 1n);
      return;
    }
    member.last = event.cursor;
    watcher.pushLossless(event);
  }

  /** A latest-wins value (an image frame part): to every joined watcher, never ahead of its cursor. */
  private onBroadcast(payload: Uint8Array): void {
    const event = fromBinary(WatchSessionResponseSchema, payload);
    adoptEncoded(event, payload);
    const kind = event.event.case;
    if (
      kind === undefined ||
      WATCH_EVENT_DELIVERY[kind] !== 'latest-wins' ||
      kind === 'keepalive'
    ) {
      return;
    }
    for (const member of this.members) {
      const watcher = member.watcher;
      if (member.pending !== undefined || watcher === undefined || watcher.isClosed) continue;
      // The owner broadcasts at once but appends in the background, so a frame may name a cursor
      // whose event has not reached this watcher yet: it carries the watcher's own cursor instead,
      // so a client resuming from the last cursor it saw never skips an event.
      const stamped =
        event.cursor <= member.last
          ? event
          : create(WatchSessionResponseSchema, { cursor: member.last, event: event.event });
      watcher.offerLatest(kind as LatestWinsCase, [stamped]);
    }
  }
}
