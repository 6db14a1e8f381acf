import { create } from '@bufbuild/protobuf';
import { decodeStored } from './stored-message';
import {
  ConnectionState,
  RunMetadataSchema,
  SessionSummarySchema,
  TrainingConfigSchema,
  isFinished,
  type SessionSummary,
  type TrainingStatus,
} from '@trainwatch/proto';
import type { Selectable } from 'kysely';
import type { SessionsTable } from './schema';

export type SessionRow = Selectable<SessionsTable>;

/**
 * A stored run as a list line. A run not held in memory has no trainer on
 * this server: DISCONNECTED, or CLOSED once it finished. Class names are
 * left out of lists (class_count says how many), as for live sessions.
 */
export function storedSummary(row: SessionRow, { withClassNames = false } = {}): SessionSummary {
  const status = row.status as TrainingStatus;
  const config =
    row.config === null
      ? undefined
      : decodeStored(TrainingConfigSchema, row.config, `the config of ${row.id}`);
  if (config !== undefined && !withClassNames) config.classNames = [];
  return create(SessionSummarySchema, {
    sessionId: row.id,
    name: row.name,
    clientName: row.client_name,
    clientVersion: row.client_version,
    config,
    classCount: row.class_count,
    status,
    statusMessage: row.status_message,
    connection: isFinished(status) ? ConnectionState.CLOSED : ConnectionState.DISCONNECTED,
    createdAtMs: BigInt(row.created_at_ms),
    lastUpdateMs: BigInt(row.last_update_ms),
    epoch: row.epoch,
    batchIdx: row.batch_idx,
    latestLoss: row.latest_loss ?? undefined,
    batchesReceived: BigInt(row.batches_received),
    partialHistory: row.partial_history !== 0,
    historyStartStep: BigInt(row.history_start_step ?? 0),
    metadata:
      row.metadata === null
        ? undefined
        : decodeStored(RunMetadataSchema, row.metadata, `the metadata of ${row.id}`),
    seriesCount: row.series_count,
    storedFrames: row.stored_frames,
    openAlerts: row.open_alerts,
  });
}
