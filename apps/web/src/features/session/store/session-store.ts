import type {
  CommandAuditEntry,
  EpochData,
  ImageFrame,
  PerformanceData,
  SessionSnapshot,
  SessionSummary,
  WatchSessionResponse,
} from '@trainwatch/proto';
import { TrainingStatus } from '@trainwatch/proto';
import { animationFrameScheduler, type FrameScheduler } from './frame-scheduler';
import { LossSeries, MAX_LOSS_POINTS } from './loss-series';

/** Most audit entries kept in the browser (the server keeps its own bounded log). */
export const MAX_AUDIT_ENTRIES = 200;
/** Most epoch summaries kept; far beyond any real run, but a bound all the same. */
export const MAX_EPOCHS = 10_000;

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
  /** Mutable on purpose (typed arrays); `lossRevision` says when it changed. */
  readonly loss: LossSeries;
  readonly lossRevision: number;
  /** Cursor of the last scalar event applied. */
  readonly cursor: bigint;
  /**
   * Server receipt of the latest batch to its arrival here, ms (client clock
   * minus server clock: exact on one machine, skewed across machines).
   */
  readonly latencyMs?: number;
}

/** The stream broke the cursor rules; the watcher must resubscribe. */
export class CursorGapError extends Error {
  constructor(expected: bigint, got: bigint, what: string) {
    super(`watch stream out of step: expected cursor ${expected} for ${what}, got ${got}`);
    this.name = 'CursorGapError';
  }
}

/** True for statuses after which nothing more will happen. */
export function isFinished(status: TrainingStatus | undefined): boolean {
  return status === TrainingStatus.COMPLETED || status === TrainingStatus.FAILED;
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
  maxLossPoints?: number;
}

/**
 * Per-session state kept outside React. The watch stream feeds it event by
 * event; React sees a new {@link SessionView} at most once per animation
 * frame, however many events arrived in between.
 */
export class SessionStore {
  readonly loss: LossSeries;
  private readonly schedule: FrameScheduler;
  private readonly now: () => number;
  private readonly listeners = new Set<() => void>();
  private cancelFrame: (() => void) | undefined;
  private awaitingSnapshot = true;

  private link: LinkState = { kind: 'connecting' };
  private summary: SessionSummary | undefined;
  private lastEventAt: number | undefined;
  private epochs = new Map<number, EpochData>();
  private performance: PerformanceData | undefined;
  private latestFrame: ImageFrame | undefined;
  /** The frame React sees: {@link latestFrame} at most every IMAGE_REFRESH_MS. */
  private shownFrame: ImageFrame | undefined;
  private shownFrameAt = Number.NEGATIVE_INFINITY;
  private imageTimer: ReturnType<typeof setTimeout> | undefined;
  private commands = new Map<string, CommandAuditEntry>();
  private cursor = 0n;
  private latencyMs: number | undefined;
  private epochsChanged = true;
  private commandsChanged = true;
  private view: SessionView;
  /** Views published so far (one per frame at most); tests read it. */
  publishCount = 0;

  constructor(options: SessionStoreOptions = {}) {
    this.schedule = options.schedule ?? animationFrameScheduler;
    this.now = options.now ?? Date.now;
    this.loss = new LossSeries(options.maxLossPoints ?? MAX_LOSS_POINTS);
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
    return this.summary !== undefined;
  }

  get status(): TrainingStatus | undefined {
    return this.summary?.status;
  }

  /** A new stream is about to open: its first event must be a snapshot. */
  beginStream(): void {
    this.awaitingSnapshot = true;
  }

  setLink(link: LinkState): void {
    this.link = link;
    this.markDirty();
  }

  /** Applies one watch event; throws CursorGapError when the stream skipped or repeated one. */
  apply(response: WatchSessionResponse): void {
    const event = response.event;
    this.lastEventAt = this.now();
    if (event.case === 'snapshot') {
      this.applySnapshot(event.value, response.cursor);
      this.markDirty();
      return;
    }
    if (this.awaitingSnapshot) {
      throw new CursorGapError(
        this.cursor,
        response.cursor,
        `${event.case ?? 'empty'} before snapshot`,
      );
    }
    switch (event.case) {
      case 'images':
      case 'keepalive':
        this.expectCursor(response.cursor, this.cursor, event.case);
        if (event.case === 'images') this.putFrame(event.value);
        break;
      case 'batch':
      case 'epoch':
      case 'performance':
      case 'status':
      case 'command':
        this.expectCursor(response.cursor, this.cursor + 1n, event.case);
        this.cursor = response.cursor;
        this.applyScalar(event);
        break;
      case undefined:
        break;
    }
    this.markDirty();
  }

  /** Stops publishing; call when the page stops watching. */
  dispose(): void {
    clearTimeout(this.imageTimer);
    this.imageTimer = undefined;
    this.cancelFrame?.();
    this.cancelFrame = undefined;
    this.listeners.clear();
  }

  private expectCursor(got: bigint, expected: bigint, what: string): void {
    if (got !== expected) throw new CursorGapError(expected, got, what);
  }

  private applySnapshot(snapshot: SessionSnapshot, cursor: bigint): void {
    this.awaitingSnapshot = false;
    this.cursor = cursor;
    this.summary = snapshot.session;
    const history = snapshot.lossHistory;
    if (history) {
      // Keep what we already drew; add only what lies after it. After a
      // server restart its history restarts at the trainer's replay, so this
      // is what keeps the curve free of duplicates and gaps.
      const count = Math.min(history.steps.length, history.losses.length);
      for (let i = 0; i < count; i++) this.loss.append(Number(history.steps[i]), history.losses[i]);
    }
    for (const epoch of snapshot.epochs) this.putEpoch(epoch);
    if (snapshot.latestPerformance) this.performance = snapshot.latestPerformance;
    // Present when it fit in the snapshot; otherwise it follows as `images` events.
    if (snapshot.latestImages) this.putFrame(snapshot.latestImages);
    for (const entry of snapshot.commands) this.putCommand(entry);
  }

  private applyScalar(
    event: Exclude<
      WatchSessionResponse['event'],
      { case: 'snapshot' | 'images' | 'keepalive' | undefined }
    >,
  ): void {
    switch (event.case) {
      case 'batch': {
        const batch = event.value;
        this.loss.append(Number(batch.step), batch.batchLoss);
        if (batch.receivedAtMs > 0n) this.latencyMs = this.now() - Number(batch.receivedAtMs);
        if (this.summary) {
          this.summary.epoch = batch.epoch;
          this.summary.batchIdx = batch.batchIdx;
          this.summary.latestLoss = batch.batchLoss;
          this.summary.batchesReceived += 1n;
          this.summary.lastUpdateMs = batch.receivedAtMs || this.summary.lastUpdateMs;
        }
        break;
      }
      case 'epoch':
        this.putEpoch(event.value);
        break;
      case 'performance':
        this.performance = event.value;
        break;
      case 'status':
        if (this.summary) {
          this.summary.status = event.value.status;
          this.summary.statusMessage = event.value.message;
          this.summary.connection = event.value.connection;
          if (event.value.config) this.summary.config = event.value.config;
          // Every status event carries the session's current conflict and history marks:
          // an absent conflict means the refused trainer is gone.
          this.summary.writerConflict = event.value.writerConflict;
          this.summary.partialHistory = event.value.partialHistory;
          this.summary.historyStartStep = event.value.historyStartStep;
        }
        break;
      case 'command':
        this.putCommand(event.value);
        break;
    }
  }

  /**
   * A whole frame replaces the shown one; a later part of a frame too large
   * for one message (first_index > 0) is appended to the frame it continues.
   * A part that continues nothing here (its start was replaced) is dropped.
   */
  private putFrame(frame: ImageFrame): void {
    if (frame.firstIndex === 0) {
      this.latestFrame = frame;
      return;
    }
    const current = this.latestFrame;
    if (current?.step !== frame.step || current.images.length !== frame.firstIndex) return;
    this.latestFrame = {
      ...current,
      images: [...current.images, ...frame.images],
      predictions: [...current.predictions, ...frame.predictions],
      groundTruth: [...current.groundTruth, ...frame.groundTruth],
    };
  }

  private putEpoch(epoch: EpochData): void {
    this.epochsChanged = true;
    this.epochs.set(epoch.epoch, epoch);
    if (this.epochs.size > MAX_EPOCHS) {
      const oldest = Math.min(...this.epochs.keys());
      this.epochs.delete(oldest);
    }
  }

  private putCommand(entry: CommandAuditEntry): void {
    this.commandsChanged = true;
    this.commands.set(entry.commandId, entry);
    while (this.commands.size > MAX_AUDIT_ENTRIES) {
      let oldestId: string | undefined;
      let oldestAt = Infinity;
      for (const [id, candidate] of this.commands) {
        if (Number(candidate.issuedAtMs) < oldestAt) {
          oldestAt = Number(candidate.issuedAtMs);
          oldestId = id;
        }
      }
      if (oldestId === undefined) break;
      this.commands.delete(oldestId);
    }
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
    for (const listener of [...this.listeners]) listener();
  }

  private refreshShownFrame(): void {
    if (this.latestFrame === this.shownFrame) return;
    const sinceShown = this.now() - this.shownFrameAt;
    if (sinceShown >= IMAGE_REFRESH_MS || this.shownFrame === undefined) {
      this.shownFrame = this.latestFrame;
      this.shownFrameAt = this.now();
    } else if (this.imageTimer === undefined) {
      // Publish again when the interval is up, even if nothing else arrives.
      this.imageTimer = setTimeout(() => {
        this.imageTimer = undefined;
        this.markDirty();
      }, IMAGE_REFRESH_MS - sinceShown);
    }
  }

  private buildView(revision: number): SessionView {
    // Arrays are rebuilt only when they changed, so panels that depend on
    // them skip re-rendering while batches stream in.
    const epochs = this.epochsChanged
      ? [...this.epochs.values()].sort((a, b) => a.epoch - b.epoch)
      : this.view.epochs;
    const commands = this.commandsChanged
      ? [...this.commands.values()].sort((a, b) => Number(a.issuedAtMs - b.issuedAtMs))
      : this.view.commands;
    this.epochsChanged = false;
    this.commandsChanged = false;
    this.refreshShownFrame();
    return {
      revision,
      link: this.link,
      summary: this.summary ? { ...this.summary } : undefined,
      lastEventAt: this.lastEventAt,
      epochs,
      performance: this.performance,
      latestFrame: this.shownFrame,
      commands,
      loss: this.loss,
      lossRevision: this.loss.revision,
      cursor: this.cursor,
      latencyMs: this.latencyMs,
    };
  }
}
