import type { ImageDataInit, PredictionInit } from './types';

/** Room left in a message for everything but the images (ids, scalars, framing). */
const MESSAGE_OVERHEAD_BYTES = 1024;
/** Per-image framing on top of its JPEG bytes. */
const IMAGE_OVERHEAD_BYTES = 32;

/** The sample part of one batch, as logged or as it will be sent. */
export interface BatchSamples {
  images: ImageDataInit[];
  predictions: PredictionInit[];
  groundTruth: number[];
}

/** The server limits a batch must respect. */
export interface BatchLimits {
  /** ServerConfig.max_batch_size; 0 or undefined when not known yet. */
  maxImages?: number;
  /** ServerConfig.max_message_bytes. */
  maxMessageBytes: number;
}

/**
 * Trims a batch's samples so the server accepts it rather than rejecting
 * the whole batch (loss included): at most `maxImages` images, and none at
 * all if their bytes would not fit in one message. Predictions and ground
 * truth follow the images they describe; without images they are capped at
 * `maxImages` too. Returns the samples to send and whether any were cut.
 */
export function fitBatchSamples(
  samples: BatchSamples,
  limits: BatchLimits,
): BatchSamples & { trimmed: boolean } {
  const cap = limits.maxImages !== undefined && limits.maxImages > 0 ? limits.maxImages : Infinity;
  let images = samples.images.slice(0, cap);
  let bytes = MESSAGE_OVERHEAD_BYTES;
  for (const image of images) bytes += (image.imageBytes?.length ?? 0) + IMAGE_OVERHEAD_BYTES;
  if (bytes > limits.maxMessageBytes) images = [];
  const keep = samples.images.length > 0 ? images.length : cap;
  const predictions = samples.predictions.slice(0, keep);
  const groundTruth = samples.groundTruth.slice(0, keep);
  const trimmed =
    images.length !== samples.images.length ||
    predictions.length !== samples.predictions.length ||
    groundTruth.length !== samples.groundTruth.length;
  return { images, predictions, groundTruth, trimmed };
}
