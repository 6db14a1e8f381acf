import { toBinary } from '@bufbuild/protobuf';
import {
  ImageDataSchema,
  ImageFrameSchema,
  type ImageData,
  type ImageFrame,
} from '@trainwatch/proto';

/** Tag of ImageFrame.images (field 4, length-delimited). */
const IMAGES_TAG = (4 << 3) | 2;
/** Tag of ImageData.image_bytes (field 1, length-delimited). */
const IMAGE_BYTES_TAG = (1 << 3) | 2;
const NO_BYTES = new Uint8Array(0);
/**
 * ImageData's fields besides image_bytes while it has exactly these: the
 * images of a frame usually share them, so one encoding of them serves every
 * image alike. Should the contract add a field, every image is encoded on its
 * own again (and the spec beside this file says so).
 */
export const SHARED_IMAGE_FIELDS = ['format', 'width', 'height', 'channels'] as const;
const HEADS_SHAREABLE =
  ImageDataSchema.fields.length === SHARED_IMAGE_FIELDS.length + 1 &&
  SHARED_IMAGE_FIELDS.every((name) => ImageDataSchema.fields.some((f) => f.localName === name));

/**
 * The stored form of an image frame: its protobuf encoding, built in one
 * buffer of the exact size. toBinary grows its buffer by doubling from 128
 * bytes and copies each nested message to prefix its length, so a frame of
 * 16 × 2 KB images cost ~10% of the server's time under load (CPU profile
 * at 30 trainers with the store on). Here only the small parts go through
 * toBinary (the frame without its images, each image without its bytes:
 * every other field, present or future, is encoded by the library) and the
 * image bytes are copied once. Fields come in another order than toBinary
 * writes them, which protobuf decoders accept.
 */
export function encodeStoredFrame(frame: ImageFrame): Buffer {
  const head = toBinary(ImageFrameSchema, { ...frame, images: [] });
  const parts: { head: Uint8Array; bytes: Uint8Array; inner: number }[] = [];
  let total = head.byteLength;
  let previous: ImageData | undefined;
  let previousHead = NO_BYTES;
  for (const image of frame.images) {
    const imageHead =
      previous !== undefined && sameHead(previous, image)
        ? previousHead
        : toBinary(ImageDataSchema, { ...image, imageBytes: NO_BYTES });
    previous = image;
    previousHead = imageHead;
    const bytes = image.imageBytes;
    const inner =
      imageHead.byteLength +
      (bytes.byteLength > 0 ? 1 + varintLength(bytes.byteLength) + bytes.byteLength : 0);
    parts.push({ head: imageHead, bytes, inner });
    total += 1 + varintLength(inner) + inner;
  }
  const out = Buffer.allocUnsafe(total);
  out.set(head, 0);
  let at = head.byteLength;
  for (const part of parts) {
    out[at++] = IMAGES_TAG;
    at = writeVarint(out, at, part.inner);
    out.set(part.head, at);
    at += part.head.byteLength;
    if (part.bytes.byteLength > 0) {
      out[at++] = IMAGE_BYTES_TAG;
      at = writeVarint(out, at, part.bytes.byteLength);
      out.set(part.bytes, at);
      at += part.bytes.byteLength;
    }
  }
  return out;
}

function sameHead(a: ImageData, b: ImageData): boolean {
  return (
    HEADS_SHAREABLE &&
    a.$unknown === undefined &&
    b.$unknown === undefined &&
    a.format === b.format &&
    a.width === b.width &&
    a.height === b.height &&
    a.channels === b.channels
  );
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length += 1;
  }
  return length;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}
