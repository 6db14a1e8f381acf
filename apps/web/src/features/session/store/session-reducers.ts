import { LOSS_SERIES, SeriesKind, type WatchSessionResponse } from '@trainwatch/proto';
import type { SessionState } from './session-state';

type WatchEvent = WatchSessionResponse['event'];
export type WatchEventCase = NonNullable<WatchEvent['case']>;
type EventValue<K extends WatchEventCase> = Extract<WatchEvent, { case: K }>['value'];

/** Folds one kind of watch event into the session's state. */
export type EventReducer<K extends WatchEventCase> = (
  state: SessionState,
  value: EventValue<K>,
) => void;

/**
 * One reducer per watch event kind. The mapped type makes a new event kind
 * in the contract a compile error here until it has a reducer; cursor rules
 * live in the store and come from WATCH_EVENT_DELIVERY.
 */
export const SESSION_REDUCERS: { readonly [K in WatchEventCase]: EventReducer<K> } = {
  snapshot(state, snapshot) {
    state.summary = snapshot.session;
    // Keep what we already drew; add only what lies after it. After a server
    // restart its history restarts at the trainer's replay, so this is what
    // keeps every curve free of duplicates and gaps.
    let hasLoss = false;
    for (const history of snapshot.series) {
      hasLoss ||= history.name === LOSS_SERIES;
      state.series.mergeHistory(history);
    }
    // A server that predates named series sends the loss curve only here.
    const loss = snapshot.lossHistory;
    if (!hasLoss && loss) {
      state.series.mergePoints(LOSS_SERIES, SeriesKind.STEP, loss.steps, loss.losses);
    }
    for (const epoch of snapshot.epochs) state.putEpoch(epoch);
    if (snapshot.latestPerformance) state.performance = snapshot.latestPerformance;
    // Present when it fit in the snapshot; otherwise it follows as `images` events.
    if (snapshot.latestImages) state.putFrame(snapshot.latestImages);
    for (const entry of snapshot.commands) state.putCommand(entry);
    if (snapshot.confusion) state.confusion.put(snapshot.confusion);
    for (const alert of snapshot.alerts) state.putAlert(alert);
    state.alertRules = snapshot.alertRules;
    state.alertSettings = snapshot.alertSettings;
    state.customCommands = snapshot.customCommands;
  },

  batch(state, batch) {
    const step = Number(batch.step);
    state.series.append(LOSS_SERIES, SeriesKind.STEP, step, batch.batchLoss);
    state.series.clock.note(step, Number(batch.timestampMs));
    // for..in over the map's plain object: no array per message.
    for (const name in batch.metrics) {
      state.series.append(name, SeriesKind.STEP, step, batch.metrics[name]);
    }
    if (batch.receivedAtMs > 0n) state.latencyMs = state.now() - Number(batch.receivedAtMs);
    const summary = state.summary;
    if (summary) {
      summary.epoch = batch.epoch;
      summary.batchIdx = batch.batchIdx;
      summary.latestLoss = batch.batchLoss;
      summary.batchesReceived += 1n;
      summary.lastUpdateMs = batch.receivedAtMs || summary.lastUpdateMs;
    }
  },

  scalars(state, scalars) {
    const step = Number(scalars.step);
    state.series.clock.note(step, Number(scalars.timestampMs));
    for (const name in scalars.values) {
      state.series.append(name, SeriesKind.STEP, step, scalars.values[name]);
    }
  },

  epoch(state, epoch) {
    state.putEpoch(epoch);
    for (const name in epoch.metrics) {
      state.series.append(name, SeriesKind.EPOCH, epoch.epoch, epoch.metrics[name]);
    }
  },

  metadata(state, metadata) {
    // The event carries the whole merged metadata: it replaces what we had.
    if (state.summary) state.summary.metadata = metadata;
  },

  performance(state, performance) {
    state.performance = performance;
  },

  status(state, status) {
    const summary = state.summary;
    if (!summary) return;
    summary.status = status.status;
    summary.statusMessage = status.message;
    summary.connection = status.connection;
    if (status.config) summary.config = status.config;
    // Every status event carries the session's current conflict and history
    // marks: an absent conflict means the refused trainer is gone.
    summary.writerConflict = status.writerConflict;
    summary.partialHistory = status.partialHistory;
    summary.historyStartStep = status.historyStartStep;
    // Present only when a registration changed the set: the whole new set.
    if (status.customCommands) state.customCommands = status.customCommands.commands;
  },

  command(state, entry) {
    state.putCommand(entry);
  },

  confusion(state, matrix) {
    // An increment: what one batch added to its epoch's matrix.
    state.confusion.put(matrix);
  },
  alert(state, alert) {
    state.putAlert(alert);
    const summary = state.summary;
    if (summary)
      summary.openAlerts = [...state.alerts.values()].filter(
        (a) => a.acknowledgedAtMs === 0n,
      ).length;
  },

  alertSettings(state, settings) {
    // The whole settings each time: they replace what we had.
    state.alertRules = settings.rules;
    state.alertSettings = settings;
    state.alertsChanged = true;
  },

  images(state, frame) {
    state.putFrame(frame);
  },

  keepalive() {
    // Only proves the stream is alive; the store notes the time.
  },
};

/** Applies `event` with the reducer of its kind. */
export function reduceEvent(state: SessionState, event: WatchEvent): void {
  if (event.case === undefined) return;
  const reducer = SESSION_REDUCERS[event.case] as (
    state: SessionState,
    value: typeof event.value,
  ) => void;
  reducer(state, event.value);
}
