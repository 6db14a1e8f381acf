import { toBinary } from '@bufbuild/protobuf';
import {
  AcknowledgmentSchema,
  MetricsResponseSchema,
  type MetricsResponse,
} from './gen/telemetry/v1/telemetry_pb';
import { fieldsAre, isShortAscii, varintLength, writeAscii, writeVarint } from './wire-writes';

/** Field numbers this encoder knows; the spec compares them with the schema's. */
export const ENCODED_FIELDS = {
  'telemetry.v1.MetricsResponse': [1, 2, 3, 4, 5],
  'telemetry.v1.Acknowledgment': [1, 2, 3, 4],
} as const;

const KNOWN =
  fieldsAre(MetricsResponseSchema, ENCODED_FIELDS['telemetry.v1.MetricsResponse']) &&
  fieldsAre(AcknowledgmentSchema, ENCODED_FIELDS['telemetry.v1.Acknowledgment']);

/** Session ids this encoder writes itself: ASCII, a one-byte length. */
const MAX_SHORT_STRING = 127;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Encodes a MetricsResponse to exactly the bytes `toBinary` writes, without
 * its writer: the server sends one acknowledgment per trainer message, and
 * protobuf-es' BinaryWriter (a buffer, a fork per nested message, chunks
 * joined at the end) made serializing them 2.4% of the event loop at 38
 * trainers × 60 msg/s with SQLite (CPU profile, `toBinary` under the
 * stream's `responseSerialize`). Acknowledgments with ordinary values are
 * written here in one buffer of the exact size; any other payload, unknown
 * fields, a non-ASCII or long session id, a negative or very large number,
 * or a contract with fields this file does not know goes to `toBinary`.
 */
export function encodeMetricsResponse(message: MetricsResponse): Buffer {
  const payload = message.payload;
  if (
    !KNOWN ||
    payload.case !== 'ack' ||
    message.$unknown !== undefined ||
    payload.value.$unknown !== undefined
  ) {
    return Buffer.from(toBinary(MetricsResponseSchema, message));
  }
  const ack = payload.value;
  const { sessionId, timestampMs } = message;
  if (
    !isShortAscii(sessionId, MAX_SHORT_STRING) ||
    timestampMs < 0n ||
    timestampMs > MAX_SAFE ||
    ack.batchIdx < 0 ||
    ack.sequence > MAX_SAFE
  ) {
    return Buffer.from(toBinary(MetricsResponseSchema, message));
  }
  // Proto3 leaves zero numbers, false and empty strings out; the oneof's message is always written.
  const timestamp = Number(timestampMs);
  const sequence = Number(ack.sequence);
  const ackLength =
    (ack.batchIdx !== 0 ? 1 + varintLength(ack.batchIdx) : 0) +
    (ack.success ? 2 : 0) +
    (sequence !== 0 ? 1 + varintLength(sequence) : 0) +
    (ack.duplicate ? 2 : 0);
  const size =
    (sessionId.length > 0 ? 2 + sessionId.length : 0) +
    (timestamp !== 0 ? 1 + varintLength(timestamp) : 0) +
    2 +
    ackLength;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  if (sessionId.length > 0) {
    out[at++] = (1 << 3) | 2;
    out[at++] = sessionId.length;
    at = writeAscii(out, at, sessionId);
  }
  if (timestamp !== 0) {
    out[at++] = 2 << 3;
    at = writeVarint(out, at, timestamp);
  }
  out[at++] = (3 << 3) | 2;
  // At most 19 bytes: a one-byte length.
  out[at++] = ackLength;
  if (ack.batchIdx !== 0) {
    out[at++] = 1 << 3;
    at = writeVarint(out, at, ack.batchIdx);
  }
  if (ack.success) {
    out[at++] = 2 << 3;
    out[at++] = 1;
  }
  if (sequence !== 0) {
    out[at++] = 3 << 3;
    at = writeVarint(out, at, sequence);
  }
  if (ack.duplicate) {
    out[at++] = 4 << 3;
    out[at++] = 1;
  }
  return out;
}
