/**
 * An async queue a fake server streams from: tests push events, end the
 * stream or fail it, at the moment they choose. Bounded by the test itself
 * (it only holds what the test pushed).
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: (() => void) | undefined;
  private closed = false;
  private failure: unknown;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  end(): void {
    this.closed = true;
    this.wake();
  }

  fail(error: unknown): void {
    this.failure = error;
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.closed) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}
