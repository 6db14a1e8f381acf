import {
  FRAME_HEADER_BYTES,
  WatchSessionResponseSchema,
  uint64VarintLength,
  varintLength,
  writeUint64Varint,
  writeVarint,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { encodeStoredFrame } from '../store/frame-encoding';

const CURSOR = WatchSessionResponseSchema.field.cursor;
const IMAGES = WatchSessionResponseSchema.field.images;
/**
 * The response as this file writes it: `cursor`, its only field outside the
 * event oneof, declared before `images`, both with one-byte tags. Should the
 * contract change that, toBinary frames images events again (the spec beside
 * this file fails first).
 */
export const IMAGES_EVENT_HAND_FRAMED =
  WatchSessionResponseSchema.fields.filter((field) => field.oneof === undefined).length === 1 &&
  CURSOR.oneof === undefined &&
  WatchSessionResponseSchema.fields.indexOf(CURSOR) <
    WatchSessionResponseSchema.fields.indexOf(IMAGES) &&
  CURSOR.number < 16 &&
  IMAGES.number < 16;

/** Room before the frame's bytes: the gRPC prefix, the cursor field, the images field's tag and length. */
const PREFIX_ROOM = FRAME_HEADER_BYTES + 1 + 10 + 1 + 5;
const VARINT = 0;
const LENGTH_DELIMITED = 2;

/**
 * A watch event carrying an image frame, framed for every watcher's stream
 * (encode-once.ts `frameWith`) around the frame's stored encoding
 * (encodeStoredFrame: the trainer's pictures, predictions and ground truth
 * copied once as they arrived) instead of toBinary encoding all 16 pictures
 * again: with 14 watched sessions that encoding was ~2% of the event loop and
 * the size check before it ~3% (CPU profile, webhooks benchmark). The bytes
 * are toBinary's. Other events are left to toBinary.
 */
export function framedImagesEvent(message: WatchSessionResponse): Uint8Array | undefined {
  const event = message.event;
  if (event.case !== 'images' || !IMAGES_EVENT_HAND_FRAMED) return undefined;
  if (message.$unknown !== undefined) return undefined;
  const allocated: { room?: Buffer } = {};
  const frame = encodeStoredFrame(event.value, (size) => {
    allocated.room = Buffer.allocUnsafe(PREFIX_ROOM + size);
    return allocated.room.subarray(PREFIX_ROOM);
  });
  const room = allocated.room;
  if (room === undefined) return undefined;
  const cursor = message.cursor;
  const cursorBytes = cursor === 0n ? 0 : 1 + uint64VarintLength(cursor);
  const head = cursorBytes + 1 + varintLength(frame.byteLength);
  // The prefix goes right before the frame's bytes, in the room left for it.
  const start = frame.byteOffset - room.byteOffset - head - FRAME_HEADER_BYTES;
  const framed = room.subarray(start, start + FRAME_HEADER_BYTES + head + frame.byteLength);
  framed[0] = 0;
  framed.writeUInt32BE(head + frame.byteLength, 1);
  let at = FRAME_HEADER_BYTES;
  if (cursorBytes > 0) {
    framed[at++] = (CURSOR.number << 3) | VARINT;
    at = writeUint64Varint(framed, at, cursor);
  }
  framed[at++] = (IMAGES.number << 3) | LENGTH_DELIMITED;
  writeVarint(framed, at, frame.byteLength);
  return framed;
}
