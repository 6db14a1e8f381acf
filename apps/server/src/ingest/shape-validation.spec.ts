import { create } from '@bufbuild/protobuf';
import {
  BatchDataSchema,
  EpochDataSchema,
  ErrorCode,
  TrainingConfigSchema,
} from '@trainwatch/proto';
import { checkBatchShape, checkEpochShape } from './shape-validation';

const config = create(TrainingConfigSchema, { totalEpochs: 3, batchesPerEpoch: 10, batchSize: 1 });
const batch = (epoch: number, batchIdx: number) =>
  create(BatchDataSchema, { epoch, batchIdx, batchLoss: 1 });

describe('shape validation', () => {
  it('accepts the last batch of the last epoch', () => {
    expect(checkBatchShape(batch(2, 9), config)).toBeUndefined();
    expect(checkEpochShape(create(EpochDataSchema, { epoch: 2 }), config)).toBeUndefined();
  });

  it.each([
    [3, 0, /epoch must be < total_epochs 3/],
    [0, 10, /batch_idx must be < batches_per_epoch 10/],
    [2 ** 31 - 1, 2 ** 31 - 1, /total_epochs 3/],
  ])('OUT_OF_SHAPE for epoch %i batch %i', (epoch, batchIdx, message) => {
    const rejection = checkBatchShape(batch(epoch, batchIdx), config);
    expect(rejection?.code).toBe(ErrorCode.OUT_OF_SHAPE);
    expect(rejection?.message).toMatch(message);
    expect(rejection?.message).toContain(`batch ${batchIdx} of epoch ${epoch}`);
  });

  it('OUT_OF_SHAPE for an epoch summary past total_epochs', () => {
    expect(checkEpochShape(create(EpochDataSchema, { epoch: 3 }), config)?.code).toBe(
      ErrorCode.OUT_OF_SHAPE,
    );
  });
});
