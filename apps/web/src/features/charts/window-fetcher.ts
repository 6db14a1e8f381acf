import type { SeriesWindow } from '@trainwatch/proto';

/** Quiet time after the last zoom before the window is asked for: a drag of zooms costs one call. */
export const ZOOM_DEBOUNCE_MS = 150;
/** Windows (one series of one run each) kept for zooming back and forth. */
export const MAX_CACHED_WINDOWS = 64;
/**
 * Points asked per series and window (the server's largest max_points):
 * full resolution up to it, min/max buckets beyond.
 */
export const ZOOM_WINDOW_POINTS = 10_000;
/**
 * QuerySeries calls started per task. A zoom on the compare view of 20 runs
 * starts 20 (one per run): encoding and starting them in one task took
 * tens of milliseconds, a frame dropped; four a task, the rest in the next
 * tasks, let frames be painted between.
 */
export const WINDOW_SENDS_PER_TASK = 4;

export interface WindowRequest {
  sessionId: string;
  names: string[];
  fromStep: number;
  toStep: number;
  maxPoints: number;
}

/** One QuerySeries call; `signal` aborts it. */
export type QueryWindows = (request: WindowRequest, signal: AbortSignal) => Promise<SeriesWindow[]>;

interface Waiting {
  name: string;
  resolve: (window: SeriesWindow | undefined) => void;
}

interface Batch {
  request: Omit<WindowRequest, 'names'>;
  waiting: Waiting[];
}

/**
 * Reads the zoomed window of a page's series at full resolution: every chart
 * asks for its series, calls within ZOOM_DEBOUNCE_MS of each other become one
 * QuerySeries per run and window (all the series named), a newer zoom
 * cancels what an older one still waits for (its promises resolve
 * undefined), and answers stay in a bounded cache so zooming back is free.
 */
export class WindowFetcher {
  private readonly cache = new Map<string, SeriesWindow>();
  private readonly batches = new Map<string, Batch>();
  private readonly inFlight = new Set<{ controller: AbortController; waiting: Waiting[] }>();
  /** Batches due but not started yet (WINDOW_SENDS_PER_TASK a task). */
  private unsent: [string, Batch][] = [];
  private sendTimer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly query: QueryWindows,
    private readonly debounceMs = ZOOM_DEBOUNCE_MS,
    private readonly maxCached = MAX_CACHED_WINDOWS,
    /** Points asked per series and window (a page overlaying many runs asks fewer each). */
    private readonly windowPoints = ZOOM_WINDOW_POINTS,
  ) {
    if (!Number.isInteger(windowPoints) || windowPoints < 1 || windowPoints > ZOOM_WINDOW_POINTS) {
      throw new RangeError(
        `windowPoints must be a whole number from 1 to ${ZOOM_WINDOW_POINTS}, got ${windowPoints}`,
      );
    }
  }

  /** Windows held (for tests and the bound). */
  get cached(): number {
    return this.cache.size;
  }

  /**
   * Series `name` of `sessionId` over [fromStep, toStep] for zoom `generation`
   * (a higher one supersedes every earlier request). Undefined when superseded.
   */
  fetch(
    sessionId: string,
    name: string,
    fromStep: number,
    toStep: number,
    generation: number,
  ): Promise<SeriesWindow | undefined> {
    const from = Math.max(0, Math.floor(fromStep));
    const to = Math.max(from, Math.ceil(toStep));
    const key = `${sessionId}\u0000${from}\u0000${to}`;
    const hit = this.cache.get(`${key}\u0000${name}`);
    if (hit !== undefined) {
      // Most recently used last.
      this.cache.delete(`${key}\u0000${name}`);
      this.cache.set(`${key}\u0000${name}`, hit);
      return Promise.resolve(hit);
    }
    if (generation > this.generation) this.supersede(generation);
    if (generation < this.generation) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const batch = this.batches.get(key) ?? {
        request: { sessionId, fromStep: from, toStep: to, maxPoints: this.windowPoints },
        waiting: [],
      };
      batch.waiting.push({ name, resolve });
      this.batches.set(key, batch);
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.send(), this.debounceMs);
    });
  }

  /**
   * The zoom was reset at `generation`: windows not asked for yet are
   * dropped (their promises resolve undefined), calls already sent finish
   * into the cache and nothing is aborted. A reset shows the data the page
   * opened with, so it asks for nothing; the drag before it, within the
   * debounce, then costs no QuerySeries at all.
   */
  zoomedOut(generation: number): void {
    if (generation < this.generation) return;
    this.generation = generation;
    this.dropUnsent();
  }

  /** Drops everything waiting (the page goes away). */
  cancelAll(): void {
    this.supersede(this.generation + 1);
  }

  private supersede(generation: number): void {
    this.generation = generation;
    this.dropUnsent();
    for (const call of this.inFlight) {
      call.controller.abort();
      for (const w of call.waiting) w.resolve(undefined);
    }
    this.inFlight.clear();
  }

  private dropUnsent(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const batch of this.batches.values()) for (const w of batch.waiting) w.resolve(undefined);
    this.batches.clear();
    if (this.sendTimer !== undefined) clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    for (const [, batch] of this.unsent) for (const w of batch.waiting) w.resolve(undefined);
    this.unsent = [];
  }

  private send(): void {
    this.timer = undefined;
    this.unsent.push(...this.batches.entries());
    this.batches.clear();
    this.sendSome();
  }

  private sendSome(): void {
    this.sendTimer = undefined;
    const batches = this.unsent.splice(0, WINDOW_SENDS_PER_TASK);
    if (this.unsent.length > 0) this.sendTimer = setTimeout(() => this.sendSome(), 0);
    for (const [key, batch] of batches) {
      const call = { controller: new AbortController(), waiting: batch.waiting };
      this.inFlight.add(call);
      const names = [...new Set(batch.waiting.map((w) => w.name))];
      this.query({ ...batch.request, names }, call.controller.signal)
        .then((windows) => {
          if (!this.inFlight.delete(call)) return;
          const byName = new Map(windows.map((window) => [window.name, window]));
          for (const name of names) {
            const window = byName.get(name);
            if (window !== undefined) this.remember(`${key}\u0000${name}`, window);
          }
          for (const w of call.waiting) w.resolve(byName.get(w.name));
        })
        .catch(() => {
          // Aborted (superseded) or failed: the chart keeps the data it has.
          if (this.inFlight.delete(call)) for (const w of call.waiting) w.resolve(undefined);
        });
    }
  }

  private remember(key: string, window: SeriesWindow): void {
    this.cache.delete(key);
    this.cache.set(key, window);
    while (this.cache.size > this.maxCached) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
  }
}
