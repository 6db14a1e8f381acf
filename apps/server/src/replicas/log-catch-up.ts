import { fromBinary } from '@bufbuild/protobuf';
import {
  WATCH_EVENT_DELIVERY,
  WatchSessionResponseSchema,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { decodeEnvelope } from './bus-envelope';
import type { Following, ReplicaBus } from './replica-bus';
import { stepOf } from './session-follow';

export interface CatchUpBounds {
  /** Most events handed back (a watcher's queue): a longer catch-up is a snapshot instead. */
  readonly maxEvents: number;
  /** Longest the read may take before the watch starts from a snapshot instead. */
  readonly timeoutMs: number;
}

/**
 * The session's lossless events after `cursor`, up to the log's event at
 * `through` (a bus position), read from the oldest event the log keeps.
 * Undefined when they cannot all be given: the log no longer holds the event
 * right after `cursor` (older than BUS_EVENTS_PER_SESSION), the owner started
 * over with a snapshot after it, there are more than `maxEvents`, or the read
 * takes longer than `timeoutMs`. A watch that gets undefined starts from a
 * snapshot, as a single replica's does when its ring no longer holds a cursor.
 */
export function readLogAfter(
  bus: ReplicaBus,
  sessionId: string,
  cursor: bigint,
  through: bigint,
  bounds: CatchUpBounds,
): Promise<WatchSessionResponse[] | undefined> {
  if (through === 0n) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const events: WatchSessionResponse[] = [];
    let last = cursor;
    let done = false;
    // Set once `follow` returns; an engine that delivers synchronously finishes before that.
    let following: Following | undefined = undefined;
    const finish = (result: WatchSessionResponse[] | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      following?.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish(undefined), bounds.timeoutMs);
    following = bus.follow(sessionId, 0n, (logged) => {
      if (done) return;
      // Past the point: the live follow has the rest (the point's own event may have aged out).
      if (logged.position > through) return finish(events);
      const event = fromBinary(WatchSessionResponseSchema, decodeEnvelope(logged.payload).message);
      const kind = event.event.case;
      if (kind !== undefined && WATCH_EVENT_DELIVERY[kind] === 'lossless') {
        const step = stepOf(last, event);
        // A snapshot after the cursor means events in between were never logged: not resumable.
        if (step === 'gap' || (step === 'take' && kind === 'snapshot' && event.cursor > cursor)) {
          return finish(undefined);
        }
        if (step === 'take' && kind !== 'snapshot') {
          if (events.length >= bounds.maxEvents) return finish(undefined);
          last = event.cursor;
          events.push(event);
        }
      }
      if (logged.position === through) finish(events);
    });
    // The engine may deliver the whole kept log synchronously (in-process): `finish` ran already.
    if (done) following.close();
  });
}
