/**
 * A process of watchers (forked by watcher-processes.ts): opens `count`
 * watchers on one session and keeps, while the parent records, when each
 * event arrived (Unix ms, read as performance.timeOrigin + now, the clock the
 * parent converts back). Watchers live here, not in the trainer's process, as
 * dashboards do: their reading does not delay the trainer's sends.
 */
import { openWatcher, type Watcher } from './watchers';
import type { ToWatchers, FromWatchers } from './watcher-protocol';

/** Arrivals kept per process while recording; past it the rest are counted as dropped. */
const MAX_ARRIVALS = 2_000_000;

const watchers: Watcher[] = [];
/** Scalar arrivals: batch_idx, arrival, server apply (Unix ms), flattened. */
let batches: number[] = [];
/** Image-frame arrivals: batch_idx, arrival (Unix ms), flattened. */
let images: number[] = [];
let recordFrom = Number.POSITIVE_INFINITY;
let dropped = 0;

const unixNow = (atMs: number) => performance.timeOrigin + atMs;
const send = (message: FromWatchers) => process.send?.(message);

function keep(into: number[], values: number[]): void {
  if (into.length >= MAX_ARRIVALS * values.length) dropped++;
  else into.push(...values);
}

process.on('message', (message: ToWatchers) => {
  switch (message.kind) {
    case 'open': {
      for (let i = 0; i < message.count; i++) {
        watchers.push(
          openWatcher(message.target, message.protocol, message.sessionId, {
            onBatch: (batchIdx, atMs, appliedAtMs) => {
              if (batchIdx >= recordFrom)
                keep(batches, [batchIdx, unixNow(atMs), appliedAtMs ?? 0]);
            },
            onImages: (batchIdx, atMs) => {
              if (batchIdx >= recordFrom) keep(images, [batchIdx, unixNow(atMs)]);
            },
          }),
        );
      }
      const ready = setInterval(() => {
        const failed = watchers.find((w) => w.error !== undefined);
        if (failed || watchers.every((w) => w.received > 0)) {
          clearInterval(ready);
          send(failed ? { kind: 'error', message: failed.error ?? '' } : { kind: 'ready' });
        }
      }, 20);
      break;
    }
    case 'record':
      batches = [];
      images = [];
      dropped = 0;
      recordFrom = message.from;
      break;
    case 'collect': {
      // Waits (up to drainMs) until every watcher here has every scalar of [from, to), so a
      // backlog is measured, not cut off; then hands over what arrived for that window.
      const expected = watchers.length * Math.max(0, message.to - recordFrom);
      const inWindow = () => {
        let n = 0;
        for (let i = 0; i < batches.length; i += 3) if ((batches[i] as number) < message.to) n++;
        return n;
      };
      const deadline = performance.now() + message.drainMs;
      const poll = setInterval(() => {
        if (inWindow() < expected && performance.now() < deadline) return;
        clearInterval(poll);
        send({
          kind: 'arrivals',
          batches: batches.filter((_, i) => (batches[i - (i % 3)] as number) < message.to),
          images: images.filter((_, i) => (images[i - (i % 2)] as number) < message.to),
          dropped,
          error: watchers.find((w) => w.error !== undefined)?.error,
        });
      }, 50);
      break;
    }
    case 'close':
      for (const watcher of watchers) watcher.close();
      process.disconnect();
      break;
  }
});
