/** What `gate()` resolves with: keep training, or stop cleanly. */
export type GateResult = 'continue' | 'stop';

/**
 * The built-in answer to PAUSE, RESUME and STOP for a loop that awaits it
 * between batches: open while running, closed while paused, and open for
 * good (answering 'stop') once a stop was requested.
 */
export class CommandGate {
  private pausedAt: number | undefined;
  private stopped = false;
  private waiters: Array<(result: GateResult) => void> = [];

  /**
   * @param onReopen told how long the gate was closed, so timing figures can leave pauses out
   */
  constructor(
    private readonly onReopen: (pausedMs: number) => void = () => undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True while paused (and not stopped). */
  get paused(): boolean {
    return this.pausedAt !== undefined;
  }

  /** True once STOP arrived (or stop() was called). */
  get stopRequested(): boolean {
    return this.stopped;
  }

  /** Closes the gate; returns false when already paused or stopped. */
  pause(): boolean {
    if (this.stopped || this.pausedAt !== undefined) return false;
    this.pausedAt = this.now();
    return true;
  }

  /** Opens the gate; returns false when it was not paused. */
  resume(): boolean {
    if (this.pausedAt === undefined) return false;
    this.onReopen(this.now() - this.pausedAt);
    this.pausedAt = undefined;
    this.release('continue');
    return true;
  }

  /** Requests a stop: every waiter, now and later, gets 'stop'. Returns false if already stopped. */
  stop(): boolean {
    if (this.stopped) return false;
    if (this.pausedAt !== undefined) this.onReopen(this.now() - this.pausedAt);
    this.pausedAt = undefined;
    this.stopped = true;
    this.release('stop');
    return true;
  }

  /** Resolves at once while running, waits while paused, answers 'stop' after a stop. */
  wait(): Promise<GateResult> {
    if (this.stopped) return Promise.resolve('stop');
    if (this.pausedAt === undefined) return Promise.resolve('continue');
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(result: GateResult): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(result);
  }
}
