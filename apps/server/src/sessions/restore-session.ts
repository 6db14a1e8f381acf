import { ConnectionState, isFinished, type TrainingStatus } from '@trainwatch/proto';
import type { StoredRun } from '../store/stored-run';
import { Session, type SessionBounds } from './session';

/**
 * A session as it was, from its stored run: what a trainer that comes back
 * resumes (config, metadata, last sequence, status, position, batch count,
 * resume token) and what a late joiner's snapshot shows (series history,
 * epochs, audit, latest performance). Nothing is published: the run's data
 * is in the store already, and publishing would store it twice.
 * `cursor` numbers the session's next watch events. Not connected until
 * its trainer attaches; the caller offers `run.latestImages` to the image
 * budget.
 */
export function restoredSession(run: StoredRun, bounds: SessionBounds, cursor: bigint): Session {
  const { row } = run;
  const session = new Session(row.id, row.created_at_ms, bounds);
  session.name = row.name;
  session.clientName = row.client_name;
  session.clientVersion = row.client_version;
  session.config = run.config;
  session.metadata = run.metadata;
  session.status = row.status as TrainingStatus;
  session.statusMessage = row.status_message;
  session.connection = isFinished(session.status)
    ? ConnectionState.CLOSED
    : ConnectionState.DISCONNECTED;
  session.lastUpdateMs = row.last_update_ms;
  session.lastSeenMs = row.last_seen_ms;
  session.batchesReceived = BigInt(row.batches_received);
  if (row.batches_received > 0) {
    session.position = { epoch: row.epoch, batchIdx: row.batch_idx };
  }
  session.latestLoss = row.latest_loss ?? undefined;
  // Dedupe survives the restart: replays at or below it are acknowledged as duplicates.
  session.lastSequence = BigInt(row.last_sequence);
  session.partialHistory = row.partial_history !== 0;
  session.historyStartStep =
    row.history_start_step === null ? undefined : BigInt(row.history_start_step);
  if (row.resume_token !== '') session.resumeToken = row.resume_token;
  session.ownerKeyId = row.owner_key_id;
  session.cursor = cursor;
  for (const epoch of run.epochs) session.addEpoch(epoch);
  for (const entry of run.commands) session.recordCommand(entry);
  // Alerts and the rules in effect outlast the restart (the watchdog folds firings into open ones).
  for (const alert of run.alerts) session.recordAlert(alert);
  if (run.alertSettings !== undefined) {
    const { settings, operatorRules, webhooksFromOperator } = run.alertSettings;
    session.alertRules = settings.rules;
    session.webhookUrls = settings.webhookUrls;
    session.alertSettingsBy = settings.updatedBy;
    session.alertSettingsAtMs = Number(settings.updatedAtMs);
    session.operatorAlertRules = operatorRules;
    session.webhookUrlsFromOperator = webhooksFromOperator;
  }
  // A trainer resuming mid-epoch keeps counting into the stored matrix.
  for (const matrix of run.confusion) session.confusion.restore(matrix);
  session.latestPerformance = run.latestPerformance;
  for (const series of run.series) {
    let fed = 0n;
    for (const bucket of series.buckets) {
      // Each bucket's lowest and highest value; their exact steps are within the bucket.
      const points =
        bucket.count === 1
          ? [{ step: bucket.step, value: bucket.last }]
          : [
              { step: bucket.step, value: bucket.min },
              { step: bucket.lastStep, value: bucket.max },
            ];
      for (const point of points) {
        session.series.add(
          series.name,
          series.kind,
          BigInt(point.step),
          point.value,
          bucket.lastWallMs,
        );
        fed += 1n;
      }
    }
    const history = session.series.get(series.name);
    const unseen = BigInt(series.totalPoints) - fed;
    if (history !== undefined && unseen > 0n) history.countPointsNotAdded(unseen);
  }
  return session;
}
