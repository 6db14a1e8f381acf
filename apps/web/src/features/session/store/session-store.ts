import {
  LOSS_SERIES,
  WATCH_EVENT_DELIVERY,
  type Alert,
  type AlertRule,
  type AlertSettings,
  type CustomCommandSpec,
  type CommandAuditEntry,
  type EpochData,
  type ImageFrame,
  type PerformanceData,
  type SessionSummary,
  type TrainingStatus,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { RefreshGate } from '../../../common/refresh-gate';
import { CONFUSION_REFRESH_MS, type LiveConfusion } from '../../per-class/live-confusion';
import type { BoundedSeries } from '../../series/store/bounded-series';
import { SeriesStore } from '../../series/store/series-store';
import { animationFrameScheduler, type FrameScheduler } from './frame-scheduler';
import { reduceEvent } from './session-reducers';
import { SessionState } from './session-state';

export { MAX_AUDIT_ENTRIES, MAX_EPOCHS } from './session-state';

/** How the watch stream is doing, in terms a person cares about. */
export type LinkState =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'reconnecting'; reason: string; attempt: number }
  | { kind: 'not-found'; reason: string }
  | { kind: 'ended' };

/** What React renders: an immutable view, replaced at most once per frame. */
export interface SessionView {
  readonly revision: number;
  readonly link: LinkState;
  readonly summary?: SessionSummary;
  /** Client clock (ms) when the last event of any kind arrived. */
  readonly lastEventAt?: number;
  readonly epochs: readonly EpochData[];
  readonly performance?: PerformanceData;
  readonly latestFrame?: ImageFrame;
  readonly commands: readonly CommandAuditEntry[];
  /** Watchdog alerts, oldest first, and the rules in effect. */
  readonly alerts: readonly Alert[];
  readonly alertRules: readonly AlertRule[];
  /** The rules again, with the run's webhook URLs (without secrets); undefined before the snapshot. */
  readonly alertSettings?: AlertSettings;
  /** The custom commands the trainer offers, a form each (replaced whole when they change). */
  readonly customCommands: readonly CustomCommandSpec[];
  /**
   * Every series, mutable on purpose (typed arrays); panels subscribe to
   * their own series. `seriesCatalogVersion` changes when a series is added.
   */
  readonly series: SeriesStore;
  readonly seriesCatalogVersion: number;
  /** The `loss` series (empty before the first batch); `lossRevision` says when it changed. */
  readonly loss: BoundedSeries | undefined;
  readonly lossRevision: number;
  /** Cursor of the last scalar event applied. */
  readonly cursor: bigint;
  /**
   * Server receipt of the latest batch to its arrival here, ms (client clock
   * minus server clock: exact on one machine, skewed across machines).
   */
  readonly latencyMs?: number;
  /**
   * Confusion matrices of the newest epochs (mutable); `confusionVersion` says
   * when they changed, at most every CONFUSION_REFRESH_MS.
   */
  readonly confusion: LiveConfusion;
  readonly confusionVersion: number;
}

/** The stream broke the cursor rules; the watcher must resubscribe. */
export class CursorGapError extends Error {
  constructor(expected: bigint, got: bigint, what: string) {
    super(`watch stream out of step: expected cursor ${expected} for ${what}, got ${got}`);
    this.name = 'CursorGapError';
  }
}

/**
 * Fastest the image grid changes, in milliseconds. Sixteen new pictures 60
 * times a second cost the page most of its frame rate (each is decoded and
 * painted) and nobody can read them that fast; the chart still moves every
 * frame. Frames in between are latest-wins, like on the server.
 */
export const IMAGE_REFRESH_MS = 200;

export interface SessionStoreOptions {
  schedule?: FrameScheduler;
  now?: () => number;
  /** A series store with other bounds (tests). */
  series?: SeriesStore;
}

/**
 * Per-session state kept outside React. The watch stream feeds it event by
 * event (each kind through its reducer, session-reducers.ts); React sees a
 * new {@link SessionView} at most once per animation frame, however many
 * events arrived in between, and each series panel hears only about its own
 * series.
 */
export class SessionStore {
  readonly series: SeriesStore;
  private readonly state: SessionState;
  private readonly schedule: FrameScheduler;
  private readonly now: () => number;
  private readonly listeners = new Set<() => void>();
  private cancelFrame: (() => void) | undefined;
  private awaitingSnapshot = true;
  /** True from a snapshot on, until a stream breaks the cursor rules. */
  private resumable = false;

  private link: LinkState = { kind: 'connecting' };
  private lastEventAt: number | undefined;
  /** The frame React sees: the latest one at most every IMAGE_REFRESH_MS. */
  private shownFrame: ImageFrame | undefined;
  private readonly imageGate = new RefreshGate(
    IMAGE_REFRESH_MS,
    () => this.markDirty(),
    () => this.now(),
  );
  /** The confusion matrices' version React sees. */
  private shownConfusionVersion = 0;
  private readonly confusionGate = new RefreshGate(
    CONFUSION_REFRESH_MS,
    () => this.markDirty(),
    () => this.now(),
  );
  private cursor = 0n;
  private view: SessionView;
  /** Views published so far (one per frame at most); tests read it. */
  publishCount = 0;

  constructor(options: SessionStoreOptions = {}) {
    this.schedule = options.schedule ?? animationFrameScheduler;
    this.now = options.now ?? Date.now;
    this.series = options.series ?? new SeriesStore();
    this.state = new SessionState(this.series, this.now);
    this.view = this.buildView(0);
  }

  /** For useSyncExternalStore. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** For useSyncExternalStore: the same object until the next publish. */
  getView = (): SessionView => this.view;

  /** True once any snapshot was applied: the session existed. */
  get hasSnapshot(): boolean {
    return this.state.summary !== undefined;
  }

  get status(): TrainingStatus | undefined {
    return this.state.summary?.status;
  }

  /**
   * The cursor a new stream may resume from (WatchSessionRequest.resume_cursor):
   * the last event applied, once a snapshot was; 0 (a snapshot) before that
   * or after the stream broke the cursor rules.
   */
  get resumeCursor(): bigint {
    return this.resumable ? this.cursor : 0n;
  }

  /**
   * A new stream is about to open. Resuming from `resumeCursor`, its first
   * event is the next one after it or a snapshot (the server no longer holds
   * every event after it); otherwise it must be a snapshot.
   */
  beginStream(resumeCursor = 0n): void {
    this.awaitingSnapshot = !this.resumable || resumeCursor === 0n || resumeCursor !== this.cursor;
  }

  setLink(link: LinkState): void {
    this.link = link;
    this.markDirty();
  }

  /**
   * Applies one watch event; throws CursorGapError when the stream skipped
   * or repeated one. Lossless events advance the cursor by exactly one;
   * latest-wins ones carry the cursor of the last lossless event.
   */
  apply(response: WatchSessionResponse): void {
    const event = response.event;
    this.lastEventAt = this.now();
    if (event.case === undefined) return;
    if (event.case === 'snapshot') {
      this.awaitingSnapshot = false;
      this.resumable = true;
      this.cursor = response.cursor;
    } else {
      if (this.awaitingSnapshot) {
        throw new CursorGapError(this.cursor, response.cursor, `${event.case} before snapshot`);
      }
      const advances = WATCH_EVENT_DELIVERY[event.case] === 'lossless';
      const expected = advances ? this.cursor + 1n : this.cursor;
      if (response.cursor !== expected) {
        // What this store holds is no longer a base to resume from.
        this.resumable = false;
        throw new CursorGapError(expected, response.cursor, event.case);
      }
      this.cursor = response.cursor;
    }
    reduceEvent(this.state, event);
    this.markDirty();
  }

  /** Stops publishing; call when the page stops watching. */
  dispose(): void {
    this.imageGate.dispose();
    this.confusionGate.dispose();
    this.cancelFrame?.();
    this.cancelFrame = undefined;
    this.listeners.clear();
    this.series.clearListeners();
  }

  private markDirty(): void {
    if (this.cancelFrame) return;
    this.cancelFrame = this.schedule(() => {
      this.cancelFrame = undefined;
      this.publish();
    });
  }

  private publish(): void {
    this.publishCount++;
    this.view = this.buildView(this.view.revision + 1);
    // Series panels first: they read the series, not the view.
    this.series.flush();
    for (const listener of [...this.listeners]) listener();
  }

  /** Moves what the slow-changing panels show to the latest, when their gates let it. */
  private refreshShown(): void {
    const latest = this.state.latestFrame;
    if (latest !== this.shownFrame && this.imageGate.pass()) this.shownFrame = latest;
    const version = this.state.confusion.version;
    if (version !== this.shownConfusionVersion && this.confusionGate.pass()) {
      this.shownConfusionVersion = version;
    }
  }

  private buildView(revision: number): SessionView {
    const state = this.state;
    // Arrays are rebuilt only when they changed, so panels that depend on
    // them skip re-rendering while batches stream in.
    const epochs: readonly EpochData[] = state.epochsChanged
      ? [...state.epochs.values()].sort((a, b) => a.epoch - b.epoch)
      : this.view.epochs;
    const commands: readonly CommandAuditEntry[] = state.commandsChanged
      ? [...state.commands.values()].sort((a, b) => Number(a.issuedAtMs - b.issuedAtMs))
      : this.view.commands;
    const alerts: readonly Alert[] = state.alertsChanged
      ? [...state.alerts.values()]
      : this.view.alerts;
    state.epochsChanged = false;
    state.commandsChanged = false;
    state.alertsChanged = false;
    this.refreshShown();
    const loss = this.series.get(LOSS_SERIES)?.points;
    const summary: SessionSummary | undefined = state.summary ? { ...state.summary } : undefined;
    const performance: PerformanceData | undefined = state.performance;
    return {
      revision,
      link: this.link,
      summary,
      lastEventAt: this.lastEventAt,
      epochs,
      performance,
      latestFrame: this.shownFrame,
      commands,
      alerts,
      alertRules: state.alertRules,
      alertSettings: state.alertSettings,
      customCommands: state.customCommands,
      series: this.series,
      // Counts series added so far, flushed or not: the view is built just before the flush.
      seriesCatalogVersion: this.series.size,
      loss,
      lossRevision: loss?.revision ?? 0,
      cursor: this.cursor,
      latencyMs: state.latencyMs,
      confusion: state.confusion,
      confusionVersion: this.shownConfusionVersion,
    };
  }
}
