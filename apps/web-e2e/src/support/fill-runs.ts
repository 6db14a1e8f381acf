import { create, toBinary } from '@bufbuild/protobuf';
import {
  ConnectionState,
  RunMetadataSchema,
  TrainingConfigSchema,
  TrainingStatus,
} from '@trainwatch/proto';
// eslint-disable-next-line @nx/enforce-module-boundaries -- 10,000 runs are written straight into the server's store: over gRPC they would take minutes.
import { openDatabase } from '../../../server/src/store/open-database';

/** Rows per INSERT (SQLite binds at most 32,766 parameters; 16 columns each). */
const ROWS_PER_STATEMENT = 500;

/** The display name of stored run `i` (a sweep: 97 configurations, repeated). */
export const scaleRunName = (i: number): string => `sweep ${i % 97} lr ${(i % 13) / 1000}`;
/** The id of stored run `i`; run i was created i seconds after the first. */
export const scaleRunId = (i: number): string => `scale-${String(i).padStart(5, '0')}`;

/** Writes `count` finished runs (no series) into the SQLite store in `dataDir`. */
export async function fillStoredRuns(dataDir: string, count: number): Promise<void> {
  const open = await openDatabase({ engine: 'sqlite', dataDir });
  const createdMs = Date.now() - count * 1000;
  const configs = ['resnet18', 'vit-small'].map((modelName) =>
    Buffer.from(
      toBinary(
        TrainingConfigSchema,
        create(TrainingConfigSchema, {
          totalEpochs: 10,
          batchesPerEpoch: 100,
          batchSize: 64,
          modelName,
          datasetName: 'cifar10',
        }),
      ),
    ),
  );
  const tags = ['baseline', 'sweep'].map((tag) =>
    Buffer.from(toBinary(RunMetadataSchema, create(RunMetadataSchema, { tags: [tag] }))),
  );
  try {
    for (let start = 0; start < count; start += ROWS_PER_STATEMENT) {
      const rows = [];
      for (let i = start; i < Math.min(count, start + ROWS_PER_STATEMENT); i++) {
        rows.push({
          id: scaleRunId(i),
          name: scaleRunName(i),
          created_at_ms: createdMs + i * 1000,
          last_update_ms: createdMs + i * 1000 + 500,
          last_seen_ms: createdMs + i * 1000 + 500,
          status: TrainingStatus.COMPLETED,
          connection: ConnectionState.CLOSED,
          config: configs[i % 2],
          metadata: tags[i % 3 === 0 ? 0 : 1],
          model_name: i % 2 === 0 ? 'resnet18' : 'vit-small',
          dataset_name: 'cifar10',
          epoch: 9,
          batch_idx: 99,
          latest_loss: 0.2 + (i % 97) / 200,
          batches_received: 1000,
          last_sequence: 1000,
        });
      }
      await open.db.insertInto('sessions').values(rows).execute();
    }
  } finally {
    await open.close();
  }
}
