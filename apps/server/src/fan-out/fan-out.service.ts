import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  WatchSessionResponseSchema,
  type ImageFrame,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import type { AppError } from '../common/app-error';
import { DASHBOARD_MESSAGE_BUDGET_BYTES } from '../common/limits';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { MetricsService } from '../metrics/metrics.service';
import type { Session } from '../sessions/session';
import { imageFrameParts } from './image-frame-parts';
import { Watcher } from './watcher';

/** A scalar event as services publish it (the cursor is assigned here). */
export type ScalarEvent = Exclude<
  WatchSessionResponse['event'],
  { case: 'snapshot' | 'images' | 'keepalive' | undefined }
>;

/**
 * Delivers a session's events to its watchers. Scalar events get the
 * session's next cursor and go into every watcher's bounded queue; image
 * frames go into every watcher's latest-wins slot. Publishing never blocks
 * and never waits for a watcher.
 */
@Injectable()
export class FanOutService {
  private readonly watchers = new Map<string, Set<Watcher>>();

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    private readonly metrics: MetricsService,
  ) {
    metrics.gauge('watchers', 'Open watch streams.', () => this.watcherCount);
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
        onImageFrameDropped: () => (this.metrics.droppedImageFrames += 1),
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
      watcher.offerImages(this.imageEvents(session, session.latestImages));
    }
    return watcher;
  }

  publishScalar(session: Session, event: ScalarEvent): void {
    session.cursor += 1n;
    const message = create(WatchSessionResponseSchema, { cursor: session.cursor, event });
    for (const watcher of this.watchersOf(session.id)) watcher.pushScalar(message);
  }

  publishImages(session: Session, frame: ImageFrame): void {
    const set = this.watchers.get(session.id);
    if (set === undefined || set.size === 0) return;
    const parts = this.imageEvents(session, frame);
    for (const watcher of [...set]) watcher.offerImages(parts);
  }

  /** A frame as `images` events, each under the dashboard message budget. */
  private imageEvents(session: Session, frame: ImageFrame): WatchSessionResponse[] {
    return imageFrameParts(frame, DASHBOARD_MESSAGE_BUDGET_BYTES).map((part) =>
      create(WatchSessionResponseSchema, {
        cursor: session.cursor,
        event: { case: 'images', value: part },
      }),
    );
  }

  /** Closes every watcher of a session (eviction) or of every session (shutdown). */
  closeAll(error?: AppError, sessionId?: string): void {
    const sets =
      sessionId === undefined
        ? [...this.watchers.values()]
        : [this.watchers.get(sessionId) ?? new Set()];
    for (const set of sets) for (const watcher of [...set]) watcher.close(error);
  }

  private forget(watcher: Watcher): void {
    const set = this.watchers.get(watcher.sessionId);
    set?.delete(watcher);
    if (set?.size === 0) this.watchers.delete(watcher.sessionId);
  }
}
