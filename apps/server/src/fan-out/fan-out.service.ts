import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  WATCH_EVENT_DELIVERY,
  WatchSessionResponseSchema,
  frameWith,
  type ImageFrame,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import type { AppError } from '../common/app-error';
import {
  DASHBOARD_MESSAGE_BUDGET_BYTES,
  WATCH_RESUME_BYTES,
  WATCH_RESUME_EVENTS,
  WATCH_RESUME_SESSIONS,
} from '../common/limits';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import type { SessionEventName } from '../events/session-events';
import { MetricsService } from '../metrics/metrics.service';
import type { Session } from '../sessions/session';
import { imageFrameParts } from './image-frame-parts';
import { framedImagesEvent } from './images-event-frame';
import { ResumeRing } from './resume-ring';
import { Watcher, type LatestWinsCase, type WatchStart } from './watcher';
import { WATCH_EVENT_KINDS, type WatchCase, type WatchValue } from './watch-event-kinds';

/** A watch event published by kind and value (the cursor is assigned here). */
export type PublishedEvent = Exclude<
  WatchSessionResponse['event'],
  { case: 'snapshot' | 'keepalive' | undefined }
>;

/**
 * Delivers a session's events to its watchers. It listens on the session
 * event bus for every kind in WATCH_EVENT_KINDS; lossless events get the
 * session's next cursor and go into every watcher's bounded queue,
 * latest-wins ones into every watcher's slot of their kind (as
 * WATCH_EVENT_DELIVERY says). Each event is built once and the same object
 * goes to every watcher, so it is encoded once for all of them. Publishing
 * never blocks and never waits for a watcher.
 */
@Injectable()
export class FanOutService {
  private readonly watchers = new Map<string, Set<Watcher>>();
  /**
   * Recent lossless events of the most recently active watched sessions (at
   * most WATCH_RESUME_SESSIONS; a Map keeps insertion order, so re-inserting
   * on use makes its first key the least recently active). A session gets a
   * ring when a watcher comes and keeps it after the last one leaves only
   * while the ring can still serve that watcher's return (see keepsRing):
   * thousands of event objects per second kept for seconds, with nobody to
   * replay them to, cost a quarter of a core in garbage collection at 50
   * trainers and put the ack's p99 at ~200 ms (CPU profile, GC trace).
   */
  private readonly rings = new Map<string, KeptRing>();
  /** What to stop when a fed watcher closes (its feed). */
  private readonly fedClosed = new WeakMap<Watcher, () => void>();

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly metrics: MetricsService,
    bus: SessionEventBus,
  ) {
    metrics.gauge('watchers', 'Open watch streams.', () => this.watcherCount);
    metrics.gauge(
      'watch_resume_rings',
      'Sessions keeping their recent watch events for a watcher to resume from.',
      () => this.rings.size,
    );
    for (const kind of Object.keys(WATCH_EVENT_KINDS) as WatchCase[]) this.listen(bus, kind);
    // Image events are framed around the frame's stored encoding, not encoded field by field again.
    frameWith(WatchSessionResponseSchema, framedImagesEvent);
  }

  get watcherCount(): number {
    let count = 0;
    for (const set of this.watchers.values()) count += set.size;
    return count;
  }

  /** Watchers of one session (for tests and metrics). */
  watchersOf(sessionId: string): readonly Watcher[] {
    return [...(this.watchers.get(sessionId) ?? [])];
  }

  /**
   * Starts a watch: the snapshot (as of the current cursor) is the first
   * event; a latest image frame too large to ride in it follows as its own
   * events (so neither pushes the other past the message limit); every later
   * event follows with no gap and no repeat. With a `resumeCursor` whose
   * later events the session's ring still holds, those events come first
   * instead of a snapshot, after a keepalive carrying `resumeCursor` (then
   * the latest image frame, which is latest-wins and may have been missed).
   */
  watch(session: Session, resumeCursor = 0n): Watcher {
    const replay =
      resumeCursor > 0n
        ? this.rings.get(session.id)?.ring.since(resumeCursor, session.cursor)
        : undefined;
    // From here on every lossless event of the session goes into its ring, for this watcher's return.
    this.ringOf(session).leftAt = undefined;
    if (replay !== undefined && replay.length < this.settings.watcherQueueSize) {
      // A keepalive first tells the client at once that its cursor was taken (no snapshot follows).
      const accepted = create(WatchSessionResponseSchema, {
        cursor: resumeCursor,
        event: { case: 'keepalive', value: { serverTimeMs: BigInt(Date.now()) } },
      });
      const watcher = this.register(session.id, {
        replay: [accepted, ...replay],
        cursor: resumeCursor,
      });
      if (session.latestImages !== undefined)
        this.offerImages(session, watcher, session.latestImages);
      return watcher;
    }
    const value = session.toSnapshot();
    const snapshot = create(WatchSessionResponseSchema, {
      cursor: session.cursor,
      event: { case: 'snapshot', value },
    });
    const watcher = this.register(session.id, snapshot);
    if (session.latestImages !== undefined && value.latestImages === undefined) {
      this.offerImages(session, watcher, session.latestImages);
    }
    return watcher;
  }

  /**
   * A watcher whose events come from elsewhere (another replica's log): it
   * starts with `start` and is fed by the caller through pushLossless and
   * offerLatest. It is counted, bounded and closed like any other.
   */
  watchFed(sessionId: string, start: WatchStart, onClosed: () => void): Watcher {
    // Kept apart from the session's local watchers: this replica's own events must not reach it twice.
    const watcher = this.register(`fed:${sessionId}`, start);
    this.fedClosed.set(watcher, onClosed);
    return watcher;
  }

  /** Forgets a session that is gone (evicted or deleted): its watchers end with `error`, its ring goes. */
  forgetSession(sessionId: string, error: AppError): void {
    this.rings.delete(sessionId);
    this.closeAll(error, sessionId);
  }

  private offerImages(session: Session, watcher: Watcher, frame: ImageFrame): void {
    const parts = imageFrameParts(frame, DASHBOARD_MESSAGE_BUDGET_BYTES);
    watcher.offerLatest(
      'images',
      parts.map((part) => this.message(session, { case: 'images', value: part })),
    );
  }

  private register(sessionId: string, start: WatchStart): Watcher {
    const watcher = new Watcher(
      sessionId,
      start,
      this.settings.watcherQueueSize,
      this.settings.heartbeatIntervalMs,
      {
        onLatestDropped: (kind) => {
          if (kind === 'images') this.metrics.droppedImageFrames += 1;
        },
        onOverflow: () => (this.metrics.watcherOverflows += 1),
        onClosed: (closed) => this.forget(closed),
      },
    );
    let set = this.watchers.get(sessionId);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(sessionId, set);
    }
    set.add(watcher);
    return watcher;
  }

  /**
   * Sends one event to the session's watchers: lossless ones advance the
   * cursor (also with nobody watching, so a later snapshot's cursor counts
   * them), latest-wins ones carry the cursor of the last lossless one.
   */
  publish(session: Session, event: PublishedEvent, parts?: readonly PublishedEvent[]): void {
    const kind = event.case;
    const lossless = WATCH_EVENT_DELIVERY[kind] === 'lossless';
    const set = this.watchers.get(session.id);
    if (lossless) {
      session.cursor += 1n;
      const watched = set !== undefined && set.size > 0;
      // Nobody watching and no watcher to come back: only the cursor moves (a later snapshot counts it).
      if (!watched && !this.rings.has(session.id)) return;
      const message = this.message(session, event);
      // A watched session whose ring went past WATCH_RESUME_SESSIONS gets a new one here.
      const kept = this.ringOf(session);
      kept.ring.push(message);
      if (!keepsRing(kept)) this.rings.delete(session.id);
      for (const watcher of set ?? []) watcher.pushLossless(message);
      return;
    }
    // Nobody watching: nothing to build.
    if (set === undefined || set.size === 0) return;
    const messages = (parts ?? [event]).map((part) => this.message(session, part));
    for (const watcher of [...set]) watcher.offerLatest(kind as LatestWinsCase, messages);
  }

  /** Closes every watcher of a session (eviction) or of every session (shutdown). */
  closeAll(error?: AppError, sessionId?: string): void {
    const sets =
      sessionId === undefined
        ? [...this.watchers.values()]
        : [this.watchers.get(sessionId) ?? new Set()];
    for (const set of sets) for (const watcher of [...set]) watcher.close(error);
  }

  /** The session's ring, made the most recently active; the least recently active one goes past the bound. */
  private ringOf(session: Session): KeptRing {
    let kept = this.rings.get(session.id);
    if (kept !== undefined) {
      this.rings.delete(session.id);
    } else {
      kept = {
        ring: new ResumeRing({ maxEvents: WATCH_RESUME_EVENTS, maxBytes: WATCH_RESUME_BYTES }),
        cursor: () => session.cursor,
        leftAt: undefined,
      };
      if (this.rings.size >= WATCH_RESUME_SESSIONS) {
        const oldest = this.rings.keys().next().value;
        if (oldest !== undefined) this.rings.delete(oldest);
      }
    }
    this.rings.set(session.id, kept);
    return kept;
  }

  private message(session: Session, event: PublishedEvent): WatchSessionResponse {
    return create(WatchSessionResponseSchema, { cursor: session.cursor, event });
  }

  /** Subscribes to the session event a watch event kind comes from. */
  private listen<K extends WatchCase>(bus: SessionEventBus, kind: K): void {
    const source = WATCH_EVENT_KINDS[kind];
    if (source.from === 'watch') return;
    // The registry's type ties `from` to `toValue`; this loop over every kind cannot name the pair.
    const { from, toValue, parts } = source as unknown as {
      from: SessionEventName;
      toValue(payload: { session: Session }): WatchValue<K>;
      parts?(value: WatchValue<K>): WatchValue<K>[];
    };
    const lossless = WATCH_EVENT_DELIVERY[kind] === 'lossless';
    bus.on(from, (payload) => {
      const { session } = payload;
      // Nobody watching a latest-wins event: nothing to build (lossless ones go to the ring).
      if (!lossless && !this.watchers.has(session.id)) return;
      const value = toValue(payload);
      const event = { case: kind, value } as PublishedEvent;
      const split = parts?.(value).map((part) => ({ case: kind, value: part }) as PublishedEvent);
      this.publish(session, event, split);
    });
  }

  private forget(watcher: Watcher): void {
    this.fedClosed.get(watcher)?.();
    const set = this.watchers.get(watcher.sessionId);
    set?.delete(watcher);
    if (set?.size !== 0) return;
    this.watchers.delete(watcher.sessionId);
    // The last one left: the ring stays for its return while it still holds what comes after it.
    const kept = this.rings.get(watcher.sessionId);
    if (kept !== undefined) kept.leftAt = kept.cursor();
  }
}

/** A session's resume ring and when its last watcher left. */
interface KeptRing {
  readonly ring: ResumeRing;
  /** The session's cursor now (every lossless event since the ring was made is in it, or was dropped from it). */
  readonly cursor: () => bigint;
  /** The session's cursor when its last watcher left; undefined while it has watchers. */
  leftAt: bigint | undefined;
}

/**
 * Whether a ring may still serve a watcher that left: one that comes back
 * holds a cursor no later than `leftAt`, so once the ring no longer holds
 * the event after `leftAt` it can serve none of them.
 */
function keepsRing(kept: KeptRing): boolean {
  return kept.leftAt === undefined || kept.ring.holdsAfter(kept.leftAt);
}
