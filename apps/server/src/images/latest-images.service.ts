import { Inject, Injectable } from '@nestjs/common';
import type { ImageFrame } from '@trainwatch/proto';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { FanOutService } from '../fan-out/fan-out.service';
import { MetricsService } from '../metrics/metrics.service';
import type { Session } from '../sessions/session';
import { SessionsService } from '../sessions/sessions.service';
import { ImageBudget, type BudgetedFrame } from './image-budget';

/** Bytes a frame keeps alive: its encoded images (predictions and labels are small and bounded). */
export function frameBytes(frame: ImageFrame): number {
  let bytes = 0;
  for (const image of frame.images) bytes += image.imageBytes.byteLength;
  return bytes;
}

/**
 * Each session's latest image frame (what a late joiner's snapshot shows),
 * held within the server-wide image memory budget. When the budget is full,
 * the frames of the least recently useful sessions go first: a session being
 * watched right now outranks every unwatched one, and among the rest the one
 * that received data longest ago goes first (a finished run before a live
 * one). An evicted session's snapshot has no latest images until its next
 * frame; live frames still reach watchers, they are not held here.
 */
@Injectable()
export class LatestImagesService {
  /** Owners are session ids: a frame must not keep a session the registry evicted alive. */
  private readonly budget: ImageBudget<string>;
  /** The held frame of each session id; bounded by the frames the budget holds. */
  private readonly held = new Map<string, BudgetedFrame<string>>();
  /** Frames larger than the whole budget, which were not held at all. */
  private overBudget = 0;

  constructor(
    @Inject(SERVER_SETTINGS) settings: ServerSettings,
    private readonly sessions: SessionsService,
    private readonly fanOut: FanOutService,
    metrics: MetricsService,
    bus: SessionEventBus,
  ) {
    bus.on('images.received', ({ session, frame }) => this.hold(session, frame));
    this.budget = new ImageBudget(settings.imageMemoryBudgetBytes, (sessionId) =>
      this.usefulness(sessionId),
    );
    metrics.gauge(
      'image_memory_budget_bytes',
      'Most bytes of image frames held for snapshots (IMAGE_MEMORY_BUDGET_BYTES).',
      () => this.budget.limitBytes,
    );
    metrics.gauge(
      'image_bytes_held',
      'Bytes of image frames held for snapshots.',
      () => this.budget.heldBytes,
    );
    metrics.gauge(
      'image_frames_held',
      'Image frames held for snapshots.',
      () => this.budget.heldFrames,
    );
    metrics.counter(
      'image_frames_evicted_total',
      'Held image frames dropped to stay within the image memory budget.',
      () => this.budget.evictions,
    );
    metrics.counter(
      'image_frames_over_budget_total',
      'Image frames larger than the whole image memory budget, never held.',
      () => this.overBudget,
    );
  }

  get heldBytes(): number {
    return this.budget.heldBytes;
  }

  /** Makes `frame` the session's latest images if the budget allows, evicting others first. */
  hold(session: Session, frame: ImageFrame): void {
    const previous = this.held.get(session.id);
    if (previous !== undefined) this.budget.release(previous);
    this.held.delete(session.id);
    // A newer frame exists: a snapshot must not show the older one even if the newer cannot be held.
    session.latestImages = undefined;
    const id = session.id;
    const owner = new WeakRef(session);
    const entry = this.budget.admit(id, frameBytes(frame), () => {
      const holder = owner.deref();
      if (holder?.latestImages === frame) holder.latestImages = undefined;
      if (this.held.get(id) === entry) this.held.delete(id);
    });
    if (entry === undefined) {
      this.overBudget += 1;
      return;
    }
    this.held.set(id, entry);
    session.latestImages = frame;
  }

  /**
   * Higher is kept longer. A frame whose session the registry evicted is
   * worth nothing (it goes first; a new session with that id replaces it).
   */
  private usefulness(sessionId: string): number {
    const session = this.sessions.find(sessionId);
    if (session === undefined) return Number.NEGATIVE_INFINITY;
    if (this.fanOut.watchersOf(sessionId).length > 0) return Number.POSITIVE_INFINITY;
    return session.lastUpdateMs;
  }
}
