import { animationFrameScheduler, type FrameScheduler } from '../session/store/frame-scheduler';

/**
 * Most charts handed new data in one animation frame. Profiled in headless
 * Chromium at 60 msg/s with the loss and six series charts on screen, the
 * frame went to rasterising the charts' canvases (every `setData` redraws a
 * whole canvas, then the compositor copies it): seven charts a frame left
 * 45 fps. Two a frame keep each of those seven charts moving about 17 times
 * a second, and a page with one or two charts moving every frame.
 */
export const MAX_CHART_DRAWS_PER_FRAME = 2;
/**
 * Milliseconds of drawing after which a frame draws no further chart. One
 * compare chart of 20 runs (raw, smoothed and band of each) can take longer
 * than a live chart: two such draws in one frame would drop it, so the
 * second waits for the next frame when the first used the budget.
 */
export const CHART_FRAME_BUDGET_MS = 8;

/** A clock in milliseconds (the page's performance.now). */
export type Clock = () => number;
const pageClock: Clock = () => (typeof performance === 'object' ? performance.now() : Date.now());

/**
 * One animation-frame loop for every live chart of the page. A chart whose
 * data changed asks to be drawn; each frame draws, of the charts waiting,
 * those drawn least recently, at most `perFrame` of them, and the rest wait
 * for the next frame. A chart asking again while it waits keeps its place
 * and is drawn once, with its newest data, so however fast values arrive a
 * chart costs at most one draw a frame and none is starved.
 */
export class ChartDrawQueue {
  /** Waiting charts, oldest request first (a Map keeps insertion order). */
  private readonly waiting = new Map<object, () => void>();
  /** When each chart was last drawn (a count of draws): a chart drawn long ago goes first. */
  private readonly lastDrawn = new WeakMap<object, number>();
  private draws = 0;
  private cancelFrame: (() => void) | undefined;

  constructor(
    private readonly schedule: FrameScheduler = animationFrameScheduler,
    readonly perFrame = MAX_CHART_DRAWS_PER_FRAME,
    private readonly budgetMs = CHART_FRAME_BUDGET_MS,
    private readonly now: Clock = pageClock,
  ) {
    if (!Number.isInteger(perFrame) || perFrame < 1) {
      throw new RangeError(`perFrame must be a whole number of at least 1, got ${perFrame}`);
    }
  }

  /** True while a drag on a chart holds every chart still. */
  private held = false;

  /** Charts waiting to be drawn. */
  get size(): number {
    return this.waiting.size;
  }

  /** Draws `chart` in a coming frame with the latest `draw` given for it. */
  request(chart: object, draw: () => void): void {
    // Setting an existing key keeps its position: the chart does not lose its turn.
    this.waiting.set(chart, draw);
    this.arm();
  }

  /** Forgets `chart` (it was unmounted, or drawn some other way). */
  cancel(chart: object): void {
    this.waiting.delete(chart);
    if (this.waiting.size === 0) {
      this.cancelFrame?.();
      this.cancelFrame = undefined;
    }
  }

  /**
   * A drag on `pressed` begins: draws that chart now if it waits (the data
   * must not slide under the selection), then draws none until `release`.
   * The other charts keep waiting: uPlot's cursor sync replays the drag on
   * each in the same task, and the page's view records only the pressed
   * chart's zoom (ChartView.zoomFromDrag), so their scales need not agree
   * now. Drawing them all here was one task of several compare charts
   * (15-20 ms each) at every press, a double click's included.
   */
  hold(pressed?: object): void {
    if (this.held) return;
    this.cancelFrame?.();
    this.cancelFrame = undefined;
    this.held = true;
    const draw = pressed === undefined ? undefined : this.waiting.get(pressed);
    if (pressed !== undefined && draw !== undefined) {
      this.waiting.delete(pressed);
      this.lastDrawn.set(pressed, ++this.draws);
      draw();
    }
  }

  /** The drag ended: charts that changed meanwhile are drawn from the next frame on. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.waiting.size > 0) this.arm();
  }

  private arm(): void {
    if (this.held) return;
    if (this.cancelFrame === undefined) this.cancelFrame = this.schedule(this.drawSome);
  }

  private readonly drawSome = (): void => {
    this.cancelFrame = undefined;
    // Least recently drawn first; never drawn before all, in the order they asked.
    const due = [...this.waiting]
      .sort(([a], [b]) => (this.lastDrawn.get(a) ?? -1) - (this.lastDrawn.get(b) ?? -1))
      .slice(0, this.perFrame);
    const began = this.now();
    for (const [index, [chart, draw]] of due.entries()) {
      // The first chart is always drawn (no starvation); the next only within the frame budget.
      if (index > 0 && this.now() - began >= this.budgetMs) break;
      this.waiting.delete(chart);
      this.lastDrawn.set(chart, ++this.draws);
      try {
        draw();
      } catch (failure) {
        // One chart failing must not stall the others: they are drawn next frame.
        if (this.waiting.size > 0) this.arm();
        throw failure;
      }
    }
    if (this.waiting.size > 0) this.arm();
  };
}

/** The page's queue: every SeriesPlot of the page (and of any page) shares one frame budget. */
export const chartDrawQueue = new ChartDrawQueue();
