import { create } from '@bufbuild/protobuf';
import {
  BatchEventSchema,
  ScalarsEventSchema,
  type ImageFrame,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { DASHBOARD_MESSAGE_BUDGET_BYTES } from '../common/limits';
import type { SessionEventMap, SessionEventName } from '../events/session-events';
import { imageFrameParts } from './image-frame-parts';

/** A WatchSessionResponse event case (`batch`, `images`...). */
export type WatchCase = NonNullable<WatchSessionResponse['event']['case']>;
/** The message a watch event case carries. */
export type WatchValue<K extends WatchCase> = Extract<
  WatchSessionResponse['event'],
  { case: K }
>['value'];

/**
 * Where a watch event comes from: a session event on the bus (turned into
 * the event's message once, for every watcher), or the watch itself (the
 * snapshot when it starts, keepalives while it idles). `parts` splits a
 * value too large for one message into several events.
 */
export type WatchEventSource<K extends WatchCase> =
  | {
      [E in SessionEventName]: {
        from: E;
        toValue(payload: SessionEventMap[E]): WatchValue<K>;
        parts?(value: WatchValue<K>): WatchValue<K>[];
      };
    }[SessionEventName]
  | { from: 'watch' };

/**
 * Every watch event kind and its source. How each one travels (lossless
 * lane or latest-wins slot) is WATCH_EVENT_DELIVERY in @trainwatch/proto.
 * The mapped type makes a new event case in the contract a compile error
 * here until it has an entry.
 */
export const WATCH_EVENT_KINDS: { [K in WatchCase]: WatchEventSource<K> } = {
  snapshot: { from: 'watch' },
  keepalive: { from: 'watch' },
  batch: {
    from: 'batch.applied',
    toValue: ({ batch, step, sequence, receivedAtMs }) =>
      create(BatchEventSchema, {
        epoch: batch.epoch,
        batchIdx: batch.batchIdx,
        step,
        batchLoss: batch.batchLoss,
        batchSize: batch.batchSize,
        timestampMs: batch.timestampMs,
        trainerSequence: sequence,
        receivedAtMs: BigInt(receivedAtMs),
        // The request's own map, not a copy: events are never changed once built.
        metrics: batch.metrics,
      }),
  },
  epoch: { from: 'epoch.applied', toValue: ({ epoch }) => epoch },
  scalars: {
    from: 'scalars.applied',
    toValue: ({ scalars, timestampMs }) =>
      create(ScalarsEventSchema, {
        step: scalars.step,
        values: scalars.values,
        timestampMs: BigInt(timestampMs),
      }),
  },
  metadata: { from: 'metadata.changed', toValue: ({ metadata }) => metadata },
  confusion: { from: 'confusion.counted', toValue: ({ matrix }) => matrix },
  performance: { from: 'performance.applied', toValue: ({ performance }) => performance },
  status: { from: 'status.changed', toValue: ({ status }) => status },
  command: { from: 'command.recorded', toValue: ({ entry }) => entry },
  alert: { from: 'alert.changed', toValue: ({ alert }) => alert },
  alertSettings: { from: 'alert-settings.changed', toValue: ({ settings }) => settings },
  images: {
    from: 'images.received',
    toValue: ({ frame }) => frame,
    parts: (frame: ImageFrame) => imageFrameParts(frame, DASHBOARD_MESSAGE_BUDGET_BYTES),
  },
};
