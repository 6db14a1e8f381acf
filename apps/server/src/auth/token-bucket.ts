/**
 * A token bucket: holds up to `capacity` tokens and refills at `perSecond`.
 * take() answers 0 when the tokens were taken, or how long until they would
 * be there (the retry hint), taking nothing.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  take(count: number, now: number): number {
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.last) * this.perSecond) / 1000,
    );
    this.last = now;
    if (this.tokens >= count) {
      this.tokens -= count;
      return 0;
    }
    return Math.ceil(((count - this.tokens) * 1000) / this.perSecond);
  }
}
