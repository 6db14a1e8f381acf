import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  WATCH_EVENT_DELIVERY,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import type { AppError } from '../common/app-error';
import { DASHBOARD_MESSAGE_BUDGET_BYTES } from '../common/limits';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import type { SessionEventName } from '../events/session-events';
import { MetricsService } from '../metrics/metrics.service';
import type { Session } from '../sessions/session';
import { imageFrameParts } from './image-frame-parts';
import { Watcher, type LatestWinsCase } from './watcher';
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

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly metrics: MetricsService,
    bus: SessionEventBus,
  ) {
    metrics.gauge('watchers', 'Open watch streams.', () => this.watcherCount);
    for (const kind of Object.keys(WATCH_EVENT_KINDS) as WatchCase[]) this.listen(bus, kind);
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
   * event follows with no gap and no repeat.
   */
  watch(session: Session): Watcher {
    const value = session.toSnapshot();
    const snapshot = create(WatchSessionResponseSchema, {
      cursor: session.cursor,
      event: { case: 'snapshot', value },
    });
    const watcher = new Watcher(
      session.id,
      snapshot,
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
    let set = this.watchers.get(session.id);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(session.id, set);
    }
    set.add(watcher);
    if (session.latestImages !== undefined && value.latestImages === undefined) {
      const parts = imageFrameParts(session.latestImages, DASHBOARD_MESSAGE_BUDGET_BYTES);
      watcher.offerLatest(
        'images',
        parts.map((part) => this.message(session, { case: 'images', value: part })),
      );
    }
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
    if (lossless) session.cursor += 1n;
    const set = this.watchers.get(session.id);
    // Nobody watching: nothing to build.
    if (set === undefined || set.size === 0) return;
    if (lossless) {
      const message = this.message(session, event);
      for (const watcher of set) watcher.pushLossless(message);
      return;
    }
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
    bus.on(from, (payload) => {
      const { session } = payload;
      if (!this.watchers.has(session.id)) {
        // Nobody watching: nothing to build, but a lossless event still takes its cursor.
        if (WATCH_EVENT_DELIVERY[kind] === 'lossless') session.cursor += 1n;
        return;
      }
      const value = toValue(payload);
      const event = { case: kind, value } as PublishedEvent;
      const split = parts?.(value).map((part) => ({ case: kind, value: part }) as PublishedEvent);
      this.publish(session, event, split);
    });
  }

  private forget(watcher: Watcher): void {
    const set = this.watchers.get(watcher.sessionId);
    set?.delete(watcher);
    if (set?.size === 0) this.watchers.delete(watcher.sessionId);
  }
}
