import { ErrorCode, type BatchData, type EpochData, type TrainingConfig } from '@trainwatch/proto';
import type { Rejection } from './payload-validation';

const enlarge = 'a StatusUpdate with a larger config enlarges it';

/**
 * OUT_OF_SHAPE when a batch lies outside the run's declared shape
 * (total_epochs x batches_per_epoch). Without this bound one implausible
 * position (epoch 2^31-1) would be accepted and make every later batch
 * OUT_OF_ORDER. Negative values are left to validateBatch.
 */
export function checkBatchShape(
  batch: BatchData,
  config: TrainingConfig | undefined,
): Rejection | undefined {
  if (config === undefined) return undefined;
  const name = `batch ${batch.batchIdx} of epoch ${batch.epoch}`;
  if (batch.epoch >= config.totalEpochs) {
    return {
      code: ErrorCode.OUT_OF_SHAPE,
      message: `${name} is outside the run: epoch must be < total_epochs ${config.totalEpochs} (${enlarge})`,
    };
  }
  if (batch.batchIdx >= config.batchesPerEpoch) {
    return {
      code: ErrorCode.OUT_OF_SHAPE,
      message: `${name} is outside the run: batch_idx must be < batches_per_epoch ${config.batchesPerEpoch} (${enlarge})`,
    };
  }
  return undefined;
}

/** OUT_OF_SHAPE when an epoch summary names an epoch past total_epochs. */
export function checkEpochShape(
  epoch: EpochData,
  config: TrainingConfig | undefined,
): Rejection | undefined {
  if (config === undefined || epoch.epoch < config.totalEpochs) return undefined;
  return {
    code: ErrorCode.OUT_OF_SHAPE,
    message: `epoch ${epoch.epoch} is outside the run: epoch must be < total_epochs ${config.totalEpochs} (${enlarge})`,
  };
}
