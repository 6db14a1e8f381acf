import { create, toBinary } from '@bufbuild/protobuf';
import {
  ImageDataSchema,
  ImageFrameSchema,
  PredictionSchema,
  type ImageFrame,
  type Prediction,
} from '@trainwatch/proto';
import { MAX_WATCHED_LABEL_LENGTH } from '../common/limits';
import { imageFrameSize } from '../store/frame-encoding';

/** Upper bound on one ground-truth value in a packed field (a negative int32 takes 10 bytes). */
const GROUND_TRUTH_BYTES = 10;
/** Room for the packed ground_truth field's tag and length, and first_index. */
const PART_OVERHEAD_BYTES = 16;

const fieldSize = (size: number) => 1 + varintSize(size) + size;
const varintSize = (value: number) => {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes += 1;
  return bytes;
};

/**
 * A frame as watchers get it: one `images` event when it fits in `maxBytes`,
 * else consecutive parts of the same step, each with the next images (and
 * their predictions and ground truth) and first_index saying where it starts.
 * Whatever ingest accepted fits this way: labels are cut to
 * MAX_WATCHED_LABEL_LENGTH, and an image too large for a message of its own
 * is sent without its bytes (its size and prediction are kept).
 */
export function imageFrameParts(frame: ImageFrame, maxBytes: number): ImageFrame[] {
  const labelled = withShortLabels(frame);
  if (imageFrameSize(labelled) <= maxBytes) return [labelled];

  // Each part gets its own arrays (a spread would share them between parts).
  const startPart = (firstIndex: number) =>
    create(ImageFrameSchema, {
      epoch: labelled.epoch,
      batchIdx: labelled.batchIdx,
      step: labelled.step,
      timestampMs: labelled.timestampMs,
      firstIndex,
    });
  const header = startPart(0);
  const headerBytes = toBinary(ImageFrameSchema, header).byteLength + PART_OVERHEAD_BYTES;
  const count = Math.max(
    labelled.images.length,
    labelled.predictions.length,
    labelled.groundTruth.length,
  );
  const parts: ImageFrame[] = [];
  let part = header;
  let used = headerBytes;
  for (let index = 0; index < count; index++) {
    let image = labelled.images[index];
    const prediction = labelled.predictions[index];
    const predictionBytes =
      prediction === undefined ? 0 : fieldSize(toBinary(PredictionSchema, prediction).byteLength);
    const fixedBytes = predictionBytes + GROUND_TRUTH_BYTES;
    let imageBytes =
      image === undefined ? 0 : fieldSize(toBinary(ImageDataSchema, image).byteLength);
    if (image !== undefined && headerBytes + fixedBytes + imageBytes > maxBytes) {
      image = create(ImageDataSchema, { ...image, imageBytes: new Uint8Array() });
      imageBytes = fieldSize(toBinary(ImageDataSchema, image).byteLength);
    }
    if (used + fixedBytes + imageBytes > maxBytes && used > headerBytes) {
      parts.push(part);
      part = startPart(index);
      used = headerBytes;
    }
    if (image !== undefined) part.images.push(image);
    if (prediction !== undefined) part.predictions.push(prediction);
    const truth = labelled.groundTruth[index];
    if (truth !== undefined) part.groundTruth.push(truth);
    used += fixedBytes + imageBytes;
  }
  parts.push(part);
  return parts;
}

/** The frame itself when every label is short enough, else a copy with long labels cut. */
function withShortLabels(frame: ImageFrame): ImageFrame {
  if (
    frame.predictions.every(
      (prediction) => prediction.predictedLabel.length <= MAX_WATCHED_LABEL_LENGTH,
    )
  ) {
    return frame;
  }
  return create(ImageFrameSchema, {
    ...frame,
    predictions: frame.predictions.map((prediction): Prediction =>
      prediction.predictedLabel.length <= MAX_WATCHED_LABEL_LENGTH
        ? prediction
        : create(PredictionSchema, {
            ...prediction,
            predictedLabel: prediction.predictedLabel.slice(0, MAX_WATCHED_LABEL_LENGTH),
          }),
    ),
  });
}
