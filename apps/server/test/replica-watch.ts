import type { WatchHandle } from './harness';

/**
 * What a watcher saw of the run's batches: the steps in the snapshot's loss
 * history, then those of every batch event, in arrival order; and how its
 * lossless events' cursors jumped (none: each is the last one's + 1, counted
 * from `from` when the watch resumed from a cursor, else from its first event).
 */
export function seen(
  handle: WatchHandle,
  from?: bigint,
): { steps: number[]; cursorJumps: bigint[] } {
  const steps: number[] = [];
  const cursorJumps: bigint[] = [];
  let last = from;
  for (const event of handle.events) {
    const kind = event.event.case;
    if (kind === 'snapshot') {
      steps.push(...(event.event.value.lossHistory?.steps ?? []).map(Number));
      last = event.cursor;
      continue;
    }
    if (kind === 'keepalive' || kind === 'images') continue;
    if (last !== undefined && event.cursor !== last + 1n) cursorJumps.push(event.cursor - last);
    last = event.cursor;
    if (kind === 'batch') steps.push(Number(event.event.value.step));
  }
  return { steps, cursorJumps };
}
