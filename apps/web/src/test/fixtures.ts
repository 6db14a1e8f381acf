import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  CommandAuditEntrySchema,
  CommandState,
  CommandType,
  ConnectionState,
  ImageFrameSchema,
  RunMetadataSchema,
  SeriesHistorySchema,
  SeriesKind,
  SessionSummarySchema,
  StatusEventSchema,
  TrainingStatus,
  WatchSessionResponseSchema,
  type CommandAuditEntry,
  type ImageFrame,
  type RunMetadata,
  type SeriesHistory,
  type SessionSummary,
  type WatchSessionResponse,
} from '@trainwatch/proto';

export const CLASS_NAMES = ['cat', 'dog', 'bird', 'fish'];
/** Smallest bytes that pass for a JPEG start; jsdom never decodes them. */
const JPEG_BYTES = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);

/** Fields a test may override on a summary. */
export type SummaryOverrides = Omit<Partial<SessionSummary>, '$typeName' | '$unknown'>;

export function summary(overrides: SummaryOverrides = {}): SessionSummary {
  return create(SessionSummarySchema, {
    sessionId: 'run-1',
    clientName: 'trainer-sim',
    clientVersion: '1.0.0',
    config: {
      totalEpochs: 3,
      batchesPerEpoch: 10,
      batchSize: 32,
      modelName: 'tiny-cnn',
      datasetName: 'shapes',
      classNames: CLASS_NAMES,
    },
    status: TrainingStatus.RUNNING,
    connection: ConnectionState.CONNECTED,
    createdAtMs: 1_000n,
    lastUpdateMs: 2_000n,
    ...overrides,
  });
}

export function snapshot(
  cursor: bigint,
  steps: number[],
  overrides: {
    session?: Partial<SessionSummary>;
    commands?: CommandAuditEntry[];
    images?: ImageFrame;
    /** Named series; when given, `loss` is among them like on the server. */
    series?: SeriesHistory[];
  } = {},
): WatchSessionResponse {
  return create(WatchSessionResponseSchema, {
    cursor,
    event: {
      case: 'snapshot',
      value: {
        session: summary(overrides.session),
        lossHistory: {
          steps: steps.map(BigInt),
          losses: steps.map(lossAt),
          totalPoints: BigInt(steps.length),
        },
        epochs: [],
        commands: overrides.commands ?? [],
        latestImages: overrides.images,
        series: overrides.series ?? [],
      },
    },
  });
}

/** Loss of the batch at `step` in these fixtures. */
export function lossAt(step: number): number {
  return 2 / (step + 1);
}

export function batch(
  cursor: bigint,
  step: number,
  batchesPerEpoch = 10,
  metrics: Record<string, number> = {},
): WatchSessionResponse {
  return create(WatchSessionResponseSchema, {
    cursor,
    event: {
      case: 'batch',
      value: {
        epoch: Math.floor(step / batchesPerEpoch),
        batchIdx: step % batchesPerEpoch,
        step: BigInt(step),
        batchLoss: lossAt(step),
        batchSize: 32,
        metrics,
      },
    },
  });
}

export function statusEvent(cursor: bigint, status: TrainingStatus): WatchSessionResponse {
  return create(WatchSessionResponseSchema, {
    cursor,
    event: {
      case: 'status',
      value: { status, connection: ConnectionState.CONNECTED, message: '' },
    },
  });
}

/** A StatusEvent with any of its fields (writer conflict, partial history...). */
export function statusUpdate(
  cursor: bigint,
  value: MessageInitShape<typeof StatusEventSchema>,
): WatchSessionResponse {
  return create(WatchSessionResponseSchema, { cursor, event: { case: 'status', value } });
}

export function epochEvent(
  cursor: bigint,
  epoch: number,
  averageLoss: number,
  averageAccuracy: number,
  metrics: Record<string, number> = {},
): WatchSessionResponse {
  return create(WatchSessionResponseSchema, {
    cursor,
    event: { case: 'epoch', value: { epoch, averageLoss, averageAccuracy, metrics } },
  });
}

/** Named values outside a batch (ScalarsData as the server forwards it). */
export function scalarsEvent(
  cursor: bigint,
  step: number,
  values: Record<string, number>,
): WatchSessionResponse {
  return create(WatchSessionResponseSchema, {
    cursor,
    event: { case: 'scalars', value: { step: BigInt(step), values, timestampMs: 1n } },
  });
}

export function runMetadata(value: MessageInitShape<typeof RunMetadataSchema>): RunMetadata {
  return create(RunMetadataSchema, value);
}

/** The run's whole merged metadata, as the server sends it after a change. */
export function metadataEvent(cursor: bigint, metadata: RunMetadata): WatchSessionResponse {
  return create(WatchSessionResponseSchema, {
    cursor,
    event: { case: 'metadata', value: metadata },
  });
}

/** One series of a snapshot: `points` as [x, y] pairs. */
export function seriesHistory(
  name: string,
  points: [number, number][],
  kind: SeriesKind = SeriesKind.STEP,
): SeriesHistory {
  return create(SeriesHistorySchema, {
    name,
    kind,
    steps: points.map(([x]) => BigInt(x)),
    values: points.map(([, y]) => y),
    timestampsMs: points.map(() => 1n),
    totalPoints: BigInt(points.length),
  });
}

export function keepalive(cursor: bigint): WatchSessionResponse {
  return create(WatchSessionResponseSchema, {
    cursor,
    event: { case: 'keepalive', value: { serverTimeMs: 1n } },
  });
}

/** A frame of `count` images; image i predicts class i % 4 and is true class `truth(i)`. */
export function imageFrame(
  step: number,
  count: number,
  truth: (i: number) => number = (i) => i % 4,
): ImageFrame {
  return create(ImageFrameSchema, {
    epoch: 0,
    batchIdx: step,
    step: BigInt(step),
    images: Array.from({ length: count }, () => ({
      imageBytes: JPEG_BYTES,
      format: 'jpeg',
      width: 8,
      height: 8,
      channels: 3,
    })),
    predictions: Array.from({ length: count }, (_, i) => ({
      predictedClass: i % 4,
      predictedLabel: '',
      confidence: 0.5 + i / 100,
    })),
    groundTruth: Array.from({ length: count }, (_, i) => truth(i)),
  });
}

export function imagesEvent(cursor: bigint, frame: ImageFrame): WatchSessionResponse {
  return create(WatchSessionResponseSchema, { cursor, event: { case: 'images', value: frame } });
}

export function auditEntry(
  id: string,
  type: CommandType,
  state: CommandState,
  issuedAtMs: number,
): CommandAuditEntry {
  return create(CommandAuditEntrySchema, {
    commandId: id,
    type,
    issuedBy: 'dashboard',
    issuedAtMs: BigInt(issuedAtMs),
    state,
    resultMessage: state === CommandState.SUCCEEDED ? 'ok' : '',
  });
}
