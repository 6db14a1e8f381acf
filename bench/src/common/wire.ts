import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import {
  BatchDataSchema,
  MetricsRequestSchema,
  MetricsResponseSchema,
  TrainingStatus,
  type MetricsResponse,
} from '@trainwatch/proto';
import type { JpegPayload } from './jpeg-payloads';
import { CIFAR10_CLASS_NAMES } from '@trainwatch/trainer-sdk';

/** gRPC method paths shared by the product and the bare relay. */
export const PATHS = {
  register: '/telemetry.v1.TelemetryService/RegisterTrainingSession',
  streamMetrics: '/telemetry.v1.TelemetryService/StreamMetrics',
  watchSession: '/telemetry.v1.DashboardService/WatchSession',
  sendCommand: '/telemetry.v1.DashboardService/SendCommand',
} as const;

/** MetricsRequest.batch_data and .command_result field numbers. */
const BATCH_DATA_FIELD = 3;
export const COMMAND_RESULT_FIELD = 8;

/** Classes the synthetic model predicts; TrainingConfig.class_names of every bench session. */
export const CLASS_NAMES: string[] = [...CIFAR10_CLASS_NAMES];

/**
 * The image-carrying part of a BatchData (images, predictions, ground truth),
 * serialized once. Protobuf lets a message be split across concatenated
 * chunks, so each batch only serializes its few changing scalars and appends
 * these bytes: generating load then costs little more than a memcpy.
 */
export function encodeImagePart(images: readonly JpegPayload[]): Uint8Array {
  return toBinary(
    BatchDataSchema,
    create(BatchDataSchema, {
      images: images.map((image) => ({
        imageBytes: image.bytes,
        format: 'jpeg',
        width: image.width,
        height: image.height,
        channels: 3,
      })),
      predictions: images.map((_, i) => ({
        predictedClass: i % CLASS_NAMES.length,
        predictedLabel: CLASS_NAMES[i % CLASS_NAMES.length],
        confidence: 0.5 + (i % 5) / 10,
      })),
      groundTruth: images.map((_, i) => (i * 3) % CLASS_NAMES.length),
    }),
  );
}

/** The changing fields of one batch message. */
export interface BatchFields {
  sessionId: string;
  sequence: bigint;
  epoch: number;
  batchIdx: number;
  loss: number;
  timestampMs: number;
  /** Named values of the batch (BatchData.metrics), written per message like the loss. */
  metrics?: readonly (readonly [string, number])[];
}

/** BatchData.metrics field number (map<string, double>). */
const BATCH_METRICS_FIELD = 9;

/** `count` metric names as a training loop would log them (lr, grad_norm, train/acc...). */
export function benchMetricNames(count: number): string[] {
  const base = ['lr', 'grad_norm', 'train/acc', 'train/top5', 'momentum'];
  return Array.from({ length: count }, (_, i) =>
    i < base.length ? base[i]! : `layer${i - base.length}/grad_norm`,
  );
}

/** Serializes a MetricsRequest{batch_data} from its scalars plus a pre-encoded image part. */
export function encodeBatchRequest(fields: BatchFields, imagePart: Uint8Array): Uint8Array {
  const scalars = new BinaryWriter()
    .tag(1, WireType.Varint)
    .int32(fields.epoch)
    .tag(2, WireType.Varint)
    .int32(fields.batchIdx)
    .tag(3, WireType.Varint)
    .int32(32)
    .tag(7, WireType.Bit64)
    .double(fields.loss)
    .tag(8, WireType.Varint)
    .int64(fields.timestampMs);
  // Map entries are length-delimited {1: key, 2: value} messages, one per name.
  for (const [name, value] of fields.metrics ?? []) {
    scalars
      .tag(BATCH_METRICS_FIELD, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.LengthDelimited)
      .string(name)
      .tag(2, WireType.Bit64)
      .double(value)
      .join();
  }
  const scalarBytes = scalars.finish();
  const batchLength = scalarBytes.length + imagePart.length;
  const head = new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .string(fields.sessionId)
    .tag(2, WireType.Varint)
    .int64(fields.timestampMs)
    .tag(9, WireType.Varint)
    .uint64(fields.sequence)
    .tag(BATCH_DATA_FIELD, WireType.LengthDelimited)
    .uint32(batchLength)
    .finish();
  const out = new Uint8Array(head.length + batchLength);
  out.set(head, 0);
  out.set(scalarBytes, head.length);
  out.set(imagePart, head.length + scalarBytes.length);
  return out;
}

/** Serializes one sequenced MetricsRequest stamped with the current time. */
function encodeRequest(
  sessionId: string,
  sequence: bigint,
  payload: MessageInitShape<typeof MetricsRequestSchema>['payload'],
): Uint8Array {
  return toBinary(
    MetricsRequestSchema,
    create(MetricsRequestSchema, { sessionId, sequence, timestampMs: BigInt(Date.now()), payload }),
  );
}

/** Serializes the trainer's answer to a command. */
export function encodeCommandResult(
  sessionId: string,
  sequence: bigint,
  commandId: string,
  status: TrainingStatus = TrainingStatus.RUNNING,
): Uint8Array {
  return encodeRequest(sessionId, sequence, {
    case: 'commandResult',
    value: { commandId, success: true, message: 'applied', status },
  });
}

/** Serializes a RUNNING status update (the first message of a product stream). */
export function encodeRunningStatus(sessionId: string, sequence: bigint): Uint8Array {
  return encodeRequest(sessionId, sequence, {
    case: 'statusUpdate',
    value: { status: TrainingStatus.RUNNING, message: 'bench' },
  });
}

/**
 * True when a serialized message has top-level field `field`. Walks tags and
 * skips values without decoding them: what the relay does to tell a command
 * result from telemetry.
 */
export function hasTopLevelField(bytes: Uint8Array, field: number): boolean {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === field) return true;
    reader.skip(wireType, fieldNo);
  }
  return false;
}

/** Decodes a MetricsResponse (acks are tiny; both targets' acks are decoded alike). */
export function decodeResponse(bytes: Uint8Array): MetricsResponse {
  return fromBinary(MetricsResponseSchema, bytes);
}
