/** How often waiting calls run while calls keep coming: the most a queued call waits. */
export const DRAIN_INTERVAL_MS = 2;
/**
 * Drain ticks with nothing to run before the ticker stops (0.5 s at 2 ms):
 * long enough that a loop logging a few times a second keeps it running,
 * short enough that an idle session does not wake the process.
 */
export const IDLE_TICKS_BEFORE_STOP = 250;

/**
 * Log calls whose work (checks against the server's limits, building the
 * request, the outbox) runs after the call returns, in the order they were
 * made, so the training loop pays only for queuing what it passed.
 *
 * The work runs on a ticker (every DRAIN_INTERVAL_MS) that keeps running
 * while calls come, not on a setImmediate per call: scheduling an immediate
 * costs a call into the runtime each time (about 15 µs on a busy machine, more
 * than the rest of logBatch together), while a call that finds the ticker
 * running only stores two slots. The ticker stops after
 * IDLE_TICKS_BEFORE_STOP empty ticks; the next call starts it again. Each call
 * is held as its argument and the time it was made, in two arrays that keep
 * their storage between drains: no closure, record, boxed number or array
 * growth per call (a drain that emptied the array by `length = 0` freed its
 * storage, so the next call allocated it again).
 *
 * Bounded: past `bound` waiting calls, the next one runs them all on its own
 * path first, so a loop that never yields cannot grow this queue.
 */
export class DeferredCalls<T> {
  /** Arguments of the waiting calls, in call order; a slot is emptied as its call runs. */
  private readonly args: (T | undefined)[];
  /** Times of the waiting calls: numbers only, so V8 keeps them unboxed. */
  private readonly times: number[];
  /** Waiting calls: slots 0 to count - 1 of args and times. */
  private count = 0;
  private ticker: NodeJS.Timeout | undefined;
  private idleTicks = 0;
  private draining = false;

  /**
   * @param bound most calls waiting at once
   * @param run does a call's work, with what was passed to defer()
   * @param onError a call whose work threw (the others still run, in order)
   */
  constructor(
    private readonly bound: number,
    private readonly run: (argument: T, at: number) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    // Sized for the bound up front; only calls made while a drain runs can go past it.
    this.args = new Array<T | undefined>(bound).fill(undefined);
    this.times = new Array<number>(bound).fill(0.5);
  }

  /** Calls waiting to run. */
  get size(): number {
    return this.count;
  }

  /** True while the ticker runs (it stops by itself once idle, or on stop()). */
  get ticking(): boolean {
    return this.ticker !== undefined;
  }

  /** Runs `run(argument, at)` within DRAIN_INTERVAL_MS (or now, with the waiting ones, at the bound). */
  defer(argument: T, at: number): void {
    const index = this.count++;
    this.args[index] = argument;
    this.times[index] = at;
    if (index + 1 >= this.bound) {
      this.drain();
      return;
    }
    if (this.ticker === undefined) this.start();
  }

  /**
   * Runs every waiting call in order. Anything that must come after them
   * (another message, a flush) calls this first; a call made while they run
   * (their own messages) goes on without waiting, keeping the order.
   */
  drain(): void {
    if (this.draining || this.count === 0) return;
    this.draining = true;
    let index = 0;
    try {
      for (; index < this.count; index++) {
        const argument = this.args[index] as T;
        // The waiting list must not keep a batch (and its images) alive once it ran.
        this.args[index] = undefined;
        try {
          this.run(argument, this.times[index]);
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      // Only a throwing onError leaves slots behind: they are dropped like the old array was.
      for (; index < this.count; index++) this.args[index] = undefined;
      this.count = 0;
      this.draining = false;
    }
  }

  /** Runs what waits and stops the ticker (the session is closing). */
  stop(): void {
    this.drain();
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private start(): void {
    this.idleTicks = 0;
    // The session's connection keeps the process alive while it is open; the
    // ticker alone must not (a batch logged after close() would hold it 0.5 s).
    this.ticker = setInterval(() => this.tick(), DRAIN_INTERVAL_MS).unref();
  }

  private tick(): void {
    if (this.count > 0) {
      this.idleTicks = 0;
      this.drain();
      return;
    }
    if (++this.idleTicks < IDLE_TICKS_BEFORE_STOP) return;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
