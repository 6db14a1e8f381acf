import { create } from '@bufbuild/protobuf';
import {
  WATCH_EVENT_DELIVERY,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { errors, type AppError } from '../common/app-error';

type Delivery = typeof WATCH_EVENT_DELIVERY;
/** A watch event kind WATCH_EVENT_DELIVERY marks latest-wins. */
export type LatestWinsCase = {
  [K in keyof Delivery]: Delivery[K] extends 'latest-wins' ? K : never;
}[keyof Delivery];
const LATEST_WINS = (Object.keys(WATCH_EVENT_DELIVERY) as (keyof Delivery)[]).filter(
  (kind): kind is LatestWinsCase => WATCH_EVENT_DELIVERY[kind] === 'latest-wins',
);

/**
 * How a watch starts: with its snapshot event, or (a resumed watch) with the
 * lossless events after `cursor`, the last one the watcher saw.
 */
export type WatchStart =
  WatchSessionResponse | { replay: readonly WatchSessionResponse[]; cursor: bigint };

/** Callbacks a watcher reports to (metrics, registry clean-up). */
export interface WatcherHooks {
  /** An unsent latest-wins value of `kind` was replaced by a newer one. */
  onLatestDropped(kind: LatestWinsCase): void;
  onOverflow(): void;
  onClosed(watcher: Watcher): void;
}

/**
 * One watcher's lanes, pulled by its transport (the gRPC writer or the
 * gRPC-Web generator) only while that transport can write; which lane an
 * event takes is WATCH_EVENT_DELIVERY (@trainwatch/proto):
 * - lossless: in cursor order, at most `queueLimit` queued; one more
 *   closes the watcher with RESOURCE_EXHAUSTED (it may watch again and refill
 *   from the snapshot);
 * - latest-wins: one slot per kind holding one value (one event, or the
 *   parts of an image frame too large for one message); a newer value
 *   replaces whatever of the older one is unsent.
 * While idle for `keepaliveMs`, `next()` yields a keepalive.
 */
export class Watcher {
  private readonly queue: WatchSessionResponse[] = [];
  private queueHead = 0;
  /** Unsent events of the latest value of each latest-wins kind (parts in order). */
  private latest: { [K in LatestWinsCase]?: WatchSessionResponse[] } = {};
  private closed: { error?: AppError } | undefined;
  private wake: (() => void) | undefined;
  /** Transports waiting for their socket to drain (at most one each), told when the watch ends. */
  private readonly closeListeners = new Set<() => void>();
  private lastCursor: bigint;

  constructor(
    readonly sessionId: string,
    start: WatchStart,
    private readonly queueLimit: number,
    private readonly keepaliveMs: number,
    private readonly hooks: WatcherHooks,
  ) {
    this.lastCursor = start.cursor;
    if ('replay' in start) this.queue.push(...start.replay);
    else this.queue.push(start);
  }

  /** Scalar events waiting to be sent (the bounded lane). */
  get queuedScalars(): number {
    return this.queue.length - this.queueHead;
  }

  /** Largest number of scalar events this watcher ever held at once. */
  peakQueuedScalars = 0;

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  pushLossless(event: WatchSessionResponse): void {
    if (this.closed) return;
    if (this.queuedScalars >= this.queueLimit) {
      this.hooks.onOverflow();
      // The cursor of the last event handed to the transport: the client resumes after it.
      this.close(
        errors.resourceExhausted(
          `watcher fell behind: more than ${this.queueLimit} events queued; watch again with resume_cursor ${this.lastCursor} to continue, or without it to refill from the snapshot`,
        ),
      );
      return;
    }
    this.queue.push(event);
    this.peakQueuedScalars = Math.max(this.peakQueuedScalars, this.queuedScalars);
    this.notify();
  }

  /** Offers the latest value of a latest-wins kind: its events (parts), all with the same cursor. */
  offerLatest(kind: LatestWinsCase, parts: readonly WatchSessionResponse[]): void {
    if (this.closed || parts.length === 0) return;
    if ((this.latest[kind]?.length ?? 0) > 0) this.hooks.onLatestDropped(kind);
    this.latest[kind] = [...parts];
    this.notify();
  }

  /**
   * Calls `listener` once when the watch ends (never, if it already has: check
   * isClosed first), so a transport waiting for its socket to drain stops
   * waiting and sends the final status, an overflow's included. Returns the
   * way to stop listening.
   */
  onClose(listener: () => void): () => void {
    if (this.closed) return () => undefined;
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Ends the watch: cleanly (undefined) or with the error's status. Idempotent. */
  close(error?: AppError): void {
    if (this.closed) return;
    this.closed = error === undefined ? {} : { error };
    this.queue.length = 0;
    this.queueHead = 0;
    this.latest = {};
    this.notify();
    for (const listener of [...this.closeListeners]) listener();
    this.closeListeners.clear();
    this.hooks.onClosed(this);
  }

  /**
   * The next event to send: resolves undefined when the watch ended cleanly,
   * rejects with the AppError it was closed with.
   */
  async next(): Promise<WatchSessionResponse | undefined> {
    for (;;) {
      if (this.closed) {
        if (this.closed.error) throw this.closed.error;
        return undefined;
      }
      const event = this.take();
      if (event !== undefined) return event;
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), this.keepaliveMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      this.wake = undefined;
      if (timedOut && !this.closed) {
        return create(WatchSessionResponseSchema, {
          cursor: this.lastCursor,
          event: { case: 'keepalive', value: { serverTimeMs: BigInt(Date.now()) } },
        });
      }
    }
  }

  /**
   * The next event if one is waiting now (undefined otherwise, or once
   * closed), so a transport can write it with the one it just took.
   */
  nextIfReady(): WatchSessionResponse | undefined {
    return this.closed ? undefined : this.take();
  }

  /** Lossless events in order; a latest-wins value goes out once every lossless event it follows has. */
  private take(): WatchSessionResponse | undefined {
    const head = this.queue[this.queueHead];
    for (const kind of LATEST_WINS) {
      const parts = this.latest[kind];
      const first = parts?.[0];
      if (first !== undefined && (head === undefined || head.cursor > first.cursor)) {
        parts?.shift();
        return first;
      }
    }
    if (head === undefined) return undefined;
    this.queueHead += 1;
    // Compact now and then so the array does not grow with the run.
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    this.lastCursor = head.cursor;
    return head;
  }

  private notify(): void {
    this.wake?.();
  }
}
