import type { BatchData } from './gen/telemetry/v1/telemetry_pb';
import type { ImageFrame } from './gen/telemetry/v1/dashboard_pb';

/**
 * A batch's samples as the trainer encoded them: the bytes of its fields 4,
 * 5 and 6 (images, predictions, ground truth), which have the same numbers
 * and types in ImageFrame, so a stored frame can take them as they are
 * instead of encoding sixteen pictures and predictions again. Recorded by
 * decodeMetricsRequest only when every occurrence of those fields lies in
 * one run with nothing else between (what every protobuf encoder writes);
 * the bytes are a view of the received request, which the decoded pictures
 * already point into.
 *
 * Kept beside the message, not on it: a property added to each decoded
 * batch (defineProperty, to keep it out of equality and spreads) cost ~4 µs
 * a message in a CPU profile at 45 trainers, and a WeakMap's entries are
 * what made the server's full collections frequent before (bench/analysis.md,
 * "Cross-replica"). A short ring of the latest messages holds them instead,
 * looked up by identity from its newest entry: the frame is encoded within
 * the same turn as its batch is applied, a few messages after decoding at
 * most. A message pushed out of the ring is simply encoded field by field.
 * The ring keeps its messages' requests alive: samples over
 * MAX_RECORDED_BYTES are not recorded, so it holds at most ~8 MiB of them
 * (a large frame's encoding is its pictures' copy anyway).
 */
const RING_SIZE = 32;
export const MAX_RECORDED_BYTES = 256 * 1024;
const owners: (object | undefined)[] = new Array<object | undefined>(RING_SIZE).fill(undefined);
const samples: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(RING_SIZE).fill(
  undefined,
);
let newest = 0;

/** Records `bytes` as the encoded samples of `message` (the decoder and carrySamplesWire only). */
export function setSamplesWire(message: BatchData | ImageFrame, bytes: Uint8Array): void {
  if (bytes.byteLength > MAX_RECORDED_BYTES) return;
  newest = (newest + 1) % RING_SIZE;
  owners[newest] = message;
  samples[newest] = bytes;
}

/** The encoded samples recorded for a decoded batch, or for a frame built from one. */
export function samplesWire(message: BatchData | ImageFrame): Uint8Array | undefined {
  for (let back = 0; back < RING_SIZE; back++) {
    const at = (newest - back + RING_SIZE) % RING_SIZE;
    if (owners[at] === message) return samples[at];
  }
  return undefined;
}

/**
 * Hands a batch's encoded samples to the frame built from it: call only when
 * the frame's images, predictions and ground truth are the batch's, unchanged.
 */
export function carrySamplesWire(from: BatchData, to: ImageFrame): void {
  const bytes = samplesWire(from);
  if (bytes !== undefined) setSamplesWire(to, bytes);
}
