import {
  DEFAULT_CHART_VIEW,
  type ZoomWindow,
  joinHash,
  readChartView,
  splitHash,
  writeChartView,
  type ChartViewState,
} from './chart-view-params';

/** How a change reaches the browser history: a step back undoes it, or it replaces the entry. */
export type HistoryMode = 'push' | 'replace';

let nextSyncKey = 0;

/**
 * The view shared by every chart of a page (and the image history's step
 * cursor), outside React: charts subscribe and apply a change to their uPlot
 * instance directly, so a zoom or a cursor move re-renders no component.
 * Bound to the location, it writes each change into the URL's search
 * parameters and follows back/forward.
 */
export class ChartView {
  private current: ChartViewState;
  private readonly listeners = new Set<(view: ChartViewState) => void>();
  /** uPlot cursor-sync key: hovering one chart moves the cursor on all of the page's charts. */
  readonly syncKey = `charts-${++nextSyncKey}`;
  /** Bumped on every zoom change, so an answer for an older zoom is dropped. */
  zoomGeneration = 0;
  /** Set when a drag's zoom is recorded, cleared once the task replaying it to the synced charts ends. */
  private dragZoomRecorded = false;
  /** The step under the pointer on one of the page's charts (not in the URL: it moves with the mouse). */
  private hovered: number | undefined;
  private readonly hoverListeners = new Set<(step: number | undefined) => void>();

  constructor(initial: ChartViewState = DEFAULT_CHART_VIEW) {
    this.current = initial;
  }

  get state(): ChartViewState {
    return this.current;
  }

  subscribe(listener: (view: ChartViewState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Changes part of the view and tells every chart; `history` says how the URL records it. */
  update(patch: Partial<ChartViewState>, history: HistoryMode = 'push'): void {
    const next = { ...this.current, ...patch };
    this.replaceState(next);
    // A zoom gesture (drag, reset, double click) changes the zoom alone.
    const keys = Object.keys(patch);
    this.onChange?.(next, history, keys.length === 1 && keys[0] === 'zoom');
  }

  /**
   * The zoom of a drag on one of the page's charts, recorded once per drag.
   * uPlot's cursor sync replays the drag on every chart of the page within
   * the same task (the chart the drag was on first), and each reports it,
   * rounded to its own width: only the first becomes the zoom and its one
   * history entry; the other charts follow the shared zoom like any other.
   */
  zoomFromDrag(zoom: ZoomWindow): void {
    if (this.dragZoomRecorded) return;
    this.dragZoomRecorded = true;
    setTimeout(() => {
      this.dragZoomRecorded = false;
    }, 0);
    this.update({ zoom });
  }

  /** The step under the pointer, undefined when the pointer is on no chart. */
  get hoverStep(): number | undefined {
    return this.hovered;
  }

  /** Moves the hovered step; listeners hear only of a change. */
  hover(step: number | undefined): void {
    if (step === this.hovered) return;
    this.hovered = step;
    for (const listener of [...this.hoverListeners]) listener(step);
  }

  subscribeHover(listener: (step: number | undefined) => void): () => void {
    this.hoverListeners.add(listener);
    return () => this.hoverListeners.delete(listener);
  }

  /** Takes a whole view (the URL after back/forward) without writing it back. */
  replaceState(next: ChartViewState): void {
    if (next.zoom?.from !== this.current.zoom?.from || next.zoom?.to !== this.current.zoom?.to) {
      this.zoomGeneration++;
    }
    this.current = next;
    for (const listener of [...this.listeners]) listener(next);
  }

  /** Set by bindToLocation; `zoomed` when the change is a zoom gesture (its push waits for a paint). */
  onChange: ((view: ChartViewState, history: HistoryMode, zoomed: boolean) => void) | undefined;
}

/** A view read from the current location's hash. */
export function chartViewFromLocation(): ChartView {
  return new ChartView(readChartView(splitHash(window.location.hash).params));
}

/** Runs `callback` after the next paint (a frame, then a task), or soon where nothing paints. */
function afterPaint(callback: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (typeof requestAnimationFrame !== 'function') {
    timer = setTimeout(callback, 0);
    return () => clearTimeout(timer);
  }
  const frame = requestAnimationFrame(() => {
    timer = setTimeout(callback, 0);
  });
  return () => {
    cancelAnimationFrame(frame);
    if (timer !== undefined) clearTimeout(timer);
  };
}

/**
 * Writes every change of `view` into location.hash (pushState or
 * replaceState: no hashchange, so the page is not routed again) and reads it
 * back on back/forward. Returns the unbinding. A replacement (the step cursor
 * while scrubbing, a filter while typing) and a zoom's push are written after
 * the next paint: Chromium spends several milliseconds in each history call,
 * which would otherwise come before the frame of every arrow key and every
 * zoom. Replacements waiting together are written once, the newest; a push
 * keeps its own entry (one Back step per zoom): a replacement after it is
 * folded into it, and any other push writes it at once. Other pushes (a
 * control, a legend toggle) are written at once.
 */
export function bindToLocation(view: ChartView): () => void {
  const write = (state: ChartViewState, history: HistoryMode): void => {
    const { path, params } = splitHash(window.location.hash);
    // The list page has no hash at all: parameters still go after "#/".
    const hash = joinHash(path === '' || path === '#' ? '#/' : path, writeChartView(state, params));
    if (hash === window.location.hash) return;
    const url = `${window.location.pathname}${window.location.search}${hash}`;
    if (history === 'push') window.history.pushState(null, '', url);
    else window.history.replaceState(null, '', url);
  };
  let pending: { state: ChartViewState; history: HistoryMode } | undefined;
  let cancelPending: (() => void) | undefined;
  const dropPending = (): void => {
    cancelPending?.();
    cancelPending = undefined;
    pending = undefined;
  };
  const flushPending = (): void => {
    const waiting = pending;
    dropPending();
    if (waiting !== undefined) write(waiting.state, waiting.history);
  };
  view.onChange = (state, history, zoomed) => {
    // A push after a push waiting: the first gesture keeps its entry.
    if (history === 'push' && pending?.history === 'push') flushPending();
    if (history === 'push' && !zoomed) {
      // The pushed state is the whole view: it holds any replacement still waiting.
      dropPending();
      write(state, 'push');
      return;
    }
    // The newest state is the whole view; a push waiting stays a push.
    pending = { state, history: pending?.history === 'push' ? 'push' : history };
    cancelPending ??= afterPaint(() => {
      cancelPending = undefined;
      const latest = pending;
      pending = undefined;
      if (latest !== undefined) write(latest.state, latest.history);
    });
  };
  const onPop = (): void => {
    dropPending();
    view.replaceState(readChartView(splitHash(window.location.hash).params));
  };
  window.addEventListener('popstate', onPop);
  return () => {
    dropPending();
    view.onChange = undefined;
    window.removeEventListener('popstate', onPop);
  };
}
