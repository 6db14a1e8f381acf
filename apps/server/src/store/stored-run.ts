import { decodeStored } from './stored-message';
import {
  LOSS_SERIES,
  RunMetadataSchema,
  TrainingConfigSchema,
  type Alert,
  type CommandAuditEntry,
  type ConfusionMatrix,
  type EpochData,
  type ImageFrame,
  type PerformanceData,
  type RunMetadata,
  type SeriesKind,
  type TrainingConfig,
} from '@trainwatch/proto';
import {
  CONFUSION_EPOCHS_IN_MEMORY,
  MAX_ALERTS_PER_SESSION,
  MAX_EPOCHS_KEPT,
} from '../common/limits';
import type { SessionRow } from './stored-summary';
import type { StoreReads, StoredAlertSettings, StoredBucket } from './store-reads';

/** One series of a stored run, bucketed to what a session holds in memory. */
export interface StoredSeries {
  name: string;
  kind: SeriesKind;
  buckets: StoredBucket[];
  totalPoints: number;
}

/** Everything a session holds in memory, read back from the store. */
export interface StoredRun {
  row: SessionRow;
  config: TrainingConfig | undefined;
  metadata: RunMetadata | undefined;
  epochs: EpochData[];
  commands: CommandAuditEntry[];
  latestPerformance: PerformanceData | undefined;
  latestImages: ImageFrame | undefined;
  series: StoredSeries[];
  /** Confusion matrices of the newest epochs, oldest first. */
  confusion: ConfusionMatrix[];
  /** The newest MAX_ALERTS_PER_SESSION alerts, oldest first. */
  alerts: Alert[];
  /** Watchdog settings; undefined for a run stored before they were kept. */
  alertSettings: StoredAlertSettings | undefined;
}

/** How much of a stored run to read back (the session's in-memory bounds). */
export interface StoredRunBounds {
  commandAuditSize: number;
  lossHistoryPoints: number;
  /** Points a series other than loss keeps, with this many series. */
  pointsPerSeries(seriesCount: number): number;
}

/**
 * Reads a run back: its row, the newest epochs and audit entries it keeps,
 * the latest performance figures and frame, and every series bucketed in SQL
 * to a quarter of the points the session keeps for it (min and max of each
 * bucket, so spikes survive and the history has room to grow).
 */
export async function loadStoredRun(
  reads: StoreReads,
  id: string,
  bounds: StoredRunBounds,
): Promise<StoredRun | undefined> {
  const row = await reads.session(id);
  if (row === undefined) return undefined;
  const [
    epochs,
    commands,
    latestPerformance,
    latestImages,
    seriesList,
    confusion,
    alerts,
    alertSettings,
  ] = await Promise.all([
    reads.epochs(id, MAX_EPOCHS_KEPT),
    reads.commands(id, bounds.commandAuditSize),
    reads.latestPerformance(id),
    reads.latestFrame(id),
    reads.seriesOf(id),
    reads.confusionMatrices(id, CONFUSION_EPOCHS_IN_MEMORY),
    reads.alerts(id, MAX_ALERTS_PER_SESSION),
    reads.alertSettings(id),
  ]);
  const named = seriesList.filter((series) => series.name !== LOSS_SERIES).length;
  const series: StoredSeries[] = [];
  for (const one of seriesList) {
    const keep =
      one.name === LOSS_SERIES ? bounds.lossHistoryPoints : bounds.pointsPerSeries(named);
    const window = await reads.seriesWindow(one, 0, undefined, Math.max(1, Math.floor(keep / 4)));
    series.push({
      name: one.name,
      kind: one.kind,
      buckets: window.buckets,
      totalPoints: window.totalPoints,
    });
  }
  return {
    row,
    config:
      row.config === null
        ? undefined
        : decodeStored(TrainingConfigSchema, row.config, `the config of ${row.id}`),
    metadata:
      row.metadata === null
        ? undefined
        : decodeStored(RunMetadataSchema, row.metadata, `the metadata of ${row.id}`),
    epochs,
    commands,
    latestPerformance,
    latestImages,
    series,
    confusion,
    alerts,
    alertSettings,
  };
}
