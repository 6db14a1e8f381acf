/**
 * Lets a changing value be shown at most once per `intervalMs`. `pass()` says
 * whether a change may be shown now; when it may not, `onDue` is called once
 * the interval is up, so the caller shows the last change then and the value
 * shown is never older than the interval. For parts of the page that change
 * with every batch but that nobody reads 60 times a second (the image grid,
 * the confusion matrix).
 */
export class RefreshGate {
  private shownAt = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly onDue: () => void,
    private readonly now: () => number,
  ) {}

  /** True when a change may be shown now (and counts it as shown). */
  pass(): boolean {
    const since = this.now() - this.shownAt;
    if (since >= this.intervalMs) {
      this.shownAt = this.now();
      return true;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.onDue();
    }, this.intervalMs - since);
    return false;
  }

  /** Drops a pending `onDue`. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
