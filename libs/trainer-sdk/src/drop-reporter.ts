import type { DroppedItem } from './outbox';
import type { SessionError } from './types';

/**
 * Makes every buffer drop visible without flooding: image drops (expected
 * while the server is away) are reported once per outage, every scalar drop
 * is reported, and after a reconnect a one-line summary goes to the dashboard.
 */
export class DropReporter {
  private images = 0;
  private messages = 0;

  constructor(
    private readonly bound: () => number,
    private readonly report: (error: SessionError) => void,
  ) {}

  /** Called by the outbox for every drop. */
  dropped(item: DroppedItem): void {
    if (item.kind === 'images') {
      this.images++;
      if (this.images === 1) {
        this.report({
          kind: 'dropped',
          item,
          message: `buffer full (${this.bound()} slots): dropping images, oldest first, from batch ${item.epoch}/${item.batchIdx} on; losses are kept`,
        });
      }
      return;
    }
    this.messages++;
    this.report({
      kind: 'dropped',
      item,
      message: `buffer full (${this.bound()} slots) with no images left to drop: dropped ${item.payload ?? 'a'} message (logged #${item.logIndex}, sequence ${item.sequence === 0n ? 'not yet given' : item.sequence})`,
    });
  }

  /** The summary for the dashboard since the last call, or undefined when nothing was dropped. */
  takeSummary(): string | undefined {
    if (this.images === 0 && this.messages === 0) return undefined;
    const summary = `trainer buffer was full while offline: dropped images of ${this.images} batches and ${this.messages} other messages`;
    this.images = 0;
    this.messages = 0;
    return summary;
  }
}
