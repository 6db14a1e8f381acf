/**
 * Time the queued chart draws of one frame may take: past it, the rest wait
 * for the next frame, so a zoom redrawing a page of charts (the compare view:
 * ten charts of twenty runs) is several short frames, not one long task.
 */
export const DRAW_FRAME_BUDGET_MS = 12;

/**
 * Chart draws that follow a view change (a zoom, its window arriving), run
 * in animation frames within DRAW_FRAME_BUDGET_MS each (at least one draw a
 * frame), in the order asked. A chart queues at most one draw: a newer one
 * replaces it, so the queue never holds more draws than there are charts.
 */
export class ChartDrawQueue {
  private readonly pending = new Map<object, () => void>();
  private armed = false;

  constructor(
    private readonly nextFrame: (run: () => void) => void = (run) => requestAnimationFrame(run),
    private readonly now: () => number = () => performance.now(),
    private readonly budgetMs = DRAW_FRAME_BUDGET_MS,
  ) {}

  /** Draws waiting. */
  get size(): number {
    return this.pending.size;
  }

  /** Queues `draw` for `owner` (one chart), in place of a draw it has queued. */
  enqueue(owner: object, draw: () => void): void {
    this.pending.delete(owner);
    this.pending.set(owner, draw);
    if (this.armed) return;
    this.armed = true;
    this.nextFrame(() => this.run());
  }

  /** Drops the draw `owner` has queued (the chart goes away). */
  cancel(owner: object): void {
    this.pending.delete(owner);
  }

  private run(): void {
    this.armed = false;
    const began = this.now();
    for (const [owner, draw] of this.pending) {
      this.pending.delete(owner);
      draw();
      if (this.now() - began >= this.budgetMs) break;
    }
    if (this.pending.size > 0 && !this.armed) {
      this.armed = true;
      this.nextFrame(() => this.run());
    }
  }
}

/** The page's queue: every chart shares the frames. */
export const chartDrawQueue = new ChartDrawQueue();
