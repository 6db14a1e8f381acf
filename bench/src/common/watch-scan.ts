/**
 * Reads the few fields a benchmark watcher times (which event, its batch_idx,
 * when the server applied it) straight from the wire bytes, skipping the rest
 * (16 images a frame) instead of decoding whole messages: 100 watchers in one
 * load generator would otherwise spend its core copying image bytes a browser
 * decodes on a core of its own, and the harness, not the server, would be
 * measured. Field numbers come from the generated descriptors.
 */
import type { DescMessage } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  BatchDataSchema,
  BatchEventSchema,
  ImageFrameSchema,
  MetricsRequestSchema,
  WatchSessionResponseSchema,
} from '@trainwatch/proto';

/** What a watcher times of one WatchSessionResponse (or of a relayed MetricsRequest). */
export interface ScannedEvent {
  kind: 'batch' | 'images' | 'other';
  batchIdx: number;
  /** BatchEvent.received_at_ms (Unix ms the server applied the batch); 0 when absent. */
  receivedAtMs: number;
}

function fieldNumber(schema: DescMessage, localName: string): number {
  const field = schema.fields.find((f) => f.localName === localName);
  if (!field) throw new Error(`${schema.typeName} has no field ${localName}`);
  return field.number;
}

const RESPONSE_BATCH = fieldNumber(WatchSessionResponseSchema, 'batch');
const RESPONSE_IMAGES = fieldNumber(WatchSessionResponseSchema, 'images');
const EVENT_BATCH_IDX = fieldNumber(BatchEventSchema, 'batchIdx');
const EVENT_RECEIVED_AT = fieldNumber(BatchEventSchema, 'receivedAtMs');
const FRAME_BATCH_IDX = fieldNumber(ImageFrameSchema, 'batchIdx');
const REQUEST_BATCH = fieldNumber(MetricsRequestSchema, 'batchData');
const BATCH_DATA_BATCH_IDX = fieldNumber(BatchDataSchema, 'batchIdx');

/** The length-delimited field `fieldNo` of a message (a view, not a copy), or undefined. */
function submessage(bytes: Uint8Array, ...fieldNos: number[]): [number, Uint8Array] | undefined {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    if (type === WireType.LengthDelimited && fieldNos.includes(no)) return [no, reader.bytes()];
    reader.skip(type, no);
  }
  return undefined;
}

/** batch_idx (int32) and, when asked, an int64 field of a small message. */
function scalars(bytes: Uint8Array, batchIdxNo: number, int64No = -1): [number, number] {
  const reader = new BinaryReader(bytes);
  let batchIdx = 0;
  let int64 = 0;
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    if (no === batchIdxNo && type === WireType.Varint) batchIdx = reader.int32();
    else if (no === int64No && type === WireType.Varint) int64 = Number(reader.int64());
    else reader.skip(type, no);
  }
  return [batchIdx, int64];
}

/** The event a WatchSessionResponse carries, as far as a latency watcher needs it. */
export function scanWatchResponse(bytes: Uint8Array): ScannedEvent {
  const found = submessage(bytes, RESPONSE_BATCH, RESPONSE_IMAGES);
  if (!found) return { kind: 'other', batchIdx: 0, receivedAtMs: 0 };
  const [no, event] = found;
  if (no === RESPONSE_BATCH) {
    const [batchIdx, receivedAtMs] = scalars(event, EVENT_BATCH_IDX, EVENT_RECEIVED_AT);
    return { kind: 'batch', batchIdx, receivedAtMs };
  }
  return { kind: 'images', batchIdx: scalars(event, FRAME_BATCH_IDX)[0], receivedAtMs: 0 };
}

/** The batch_idx of a MetricsRequest the relay forwarded, or undefined when it holds no batch. */
export function scanRelayedBatch(bytes: Uint8Array): number | undefined {
  const found = submessage(bytes, REQUEST_BATCH);
  return found ? scalars(found[1], BATCH_DATA_BATCH_IDX)[0] : undefined;
}
