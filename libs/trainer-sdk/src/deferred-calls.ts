/**
 * Log calls whose work (checks against the server's limits, building the
 * request, the outbox) runs just after the call returns, in the order they
 * were made, so the training loop pays only for queuing a function. Bounded:
 * past `bound` waiting calls, the next one runs them all on its own path
 * first, so a loop that never yields cannot grow this queue.
 */
export class DeferredCalls {
  private readonly calls: (() => void)[] = [];
  private scheduled = false;
  private draining = false;

  /** `onError`: a call that threw (the others still run, in order). */
  constructor(
    private readonly bound: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Calls waiting to run. */
  get size(): number {
    return this.calls.length;
  }

  /** Runs `call` after the current turn of the event loop (or now, with the waiting ones, at the bound). */
  defer(call: () => void): void {
    this.calls.push(call);
    if (this.calls.length >= this.bound) {
      this.drain();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /**
   * Runs every waiting call in order. Anything that must come after them
   * (another message, a flush) calls this first; a call made while they run
   * (their own messages) goes on without waiting, keeping the order.
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let index = 0; index < this.calls.length; index++) {
        try {
          this.calls[index]?.();
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      this.calls.length = 0;
      this.draining = false;
    }
  }
}
