import { DEFAULT_MAX_SERIES, LOSS_SERIES, SeriesKind, type SeriesHistory } from '@trainwatch/proto';
import { BoundedSeries } from './bounded-series';
import { StepClock } from './step-clock';

/**
 * Most points the browser keeps per series (the loss has its own bound). A
 * chart panel is a few hundred pixels wide, so 2,000 min/max-downsampled
 * points lose nothing visible; 1,000 series at this bound hold at most
 * 32 MB of typed arrays, and most series stay far below it.
 */
export const MAX_SERIES_POINTS = 2_000;
/** Most loss points kept: the loss has the large chart, worth the detail. */
export const MAX_LOSS_POINTS = 20_000;
/**
 * Most distinct series the page keeps: the server's default bound. Values of
 * series beyond it (a server configured higher) are ignored and counted.
 */
export const MAX_SERIES_SHOWN = DEFAULT_MAX_SERIES;

/** One named series: what it is indexed by, its points, and who draws it. */
export class SeriesEntry {
  readonly points: BoundedSeries;
  /** Changes at most once per frame, when the points changed since the last one. */
  version = 0;
  readonly listeners = new Set<() => void>();
  dirty = false;

  constructor(
    readonly name: string,
    /** STEP (x = global step) or EPOCH (x = epoch). */
    readonly kind: SeriesKind.STEP | SeriesKind.EPOCH,
    maxLength: number,
  ) {
    this.points = new BoundedSeries(maxLength);
  }
}

/**
 * Every series of a session, each in its own bounded buffer. Values go in as
 * events arrive; listeners hear about it at most once per frame, and only
 * those of the series that changed, so one panel redraws without the others.
 */
export class SeriesStore {
  private readonly entries = new Map<string, SeriesEntry>();
  /** Entries changed since the last flush; at most one slot per series. */
  private readonly dirty: SeriesEntry[] = [];
  /** Values ignored because their series would exceed MAX_SERIES_SHOWN. */
  ignoredValues = 0;
  /** When each step happened: charts drawn against wall time read it. */
  readonly clock = new StepClock();

  constructor(
    private readonly maxSeries = MAX_SERIES_SHOWN,
    private readonly maxPoints = MAX_SERIES_POINTS,
    private readonly maxLossPoints = MAX_LOSS_POINTS,
  ) {}

  /** Series held; they are never removed, so this also says when one was added. */
  get size(): number {
    return this.entries.size;
  }

  get(name: string): SeriesEntry | undefined {
    return this.entries.get(name);
  }

  /** Series names in insertion order (sorted by the views that show them). */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Appends one value; a point at an x the series already covers is skipped. */
  append(name: string, kind: SeriesKind, x: number, y: number): void {
    const entry = this.entry(name, kind);
    if (entry?.points.append(x, y)) this.markDirty(entry);
  }

  /** Merges a snapshot's history: only points after what the series holds. */
  mergeHistory(history: SeriesHistory): void {
    if (history.kind !== SeriesKind.EPOCH) {
      const count = Math.min(history.steps.length, history.timestampsMs.length);
      for (let i = 0; i < count; i++) {
        this.clock.note(Number(history.steps[i]), Number(history.timestampsMs[i]));
      }
    }
    this.mergePoints(history.name, history.kind, history.steps, history.values);
  }

  mergePoints(name: string, kind: SeriesKind, xs: readonly bigint[], ys: readonly number[]): void {
    const entry = this.entry(name, kind);
    if (!entry) return;
    const count = Math.min(xs.length, ys.length);
    let changed = false;
    for (let i = 0; i < count; i++) changed = entry.points.append(Number(xs[i]), ys[i]) || changed;
    if (changed) this.markDirty(entry);
  }

  subscribe(name: string, listener: () => void): () => void {
    const entry = this.entries.get(name);
    if (!entry) return () => undefined;
    entry.listeners.add(listener);
    return () => entry.listeners.delete(listener);
  }

  /** Tells the listeners of every series that changed since the last flush; once per frame. */
  flush(): void {
    const changed = this.dirty.splice(0);
    for (const entry of changed) {
      entry.dirty = false;
      entry.version++;
    }
    for (const entry of changed) for (const listener of [...entry.listeners]) listener();
  }

  clearListeners(): void {
    for (const entry of this.entries.values()) entry.listeners.clear();
  }

  private entry(name: string, kind: SeriesKind): SeriesEntry | undefined {
    const existing = this.entries.get(name);
    if (existing) return existing;
    if (this.entries.size >= this.maxSeries) {
      this.ignoredValues++;
      return undefined;
    }
    const bound = name === LOSS_SERIES ? this.maxLossPoints : this.maxPoints;
    const created = new SeriesEntry(
      name,
      kind === SeriesKind.EPOCH ? SeriesKind.EPOCH : SeriesKind.STEP,
      bound,
    );
    this.entries.set(name, created);
    return created;
  }

  private markDirty(entry: SeriesEntry): void {
    if (entry.dirty) return;
    entry.dirty = true;
    this.dirty.push(entry);
  }
}
