import { toBinary } from '@bufbuild/protobuf';
import {
  ImageDataSchema,
  ImageFrameSchema,
  PredictionSchema,
  type ImageData,
  type ImageFrame,
  type Prediction,
  fieldsAre,
  samplesWire,
  isShortAscii,
  uint64VarintLength,
  varintLength,
  writeAscii,
  writeUint64Varint,
  writeVarint,
} from '@trainwatch/proto';
import { SharedFrameMemory } from './shared-frame-memory';

export { SHARED_SLAB_BYTES } from './shared-frame-memory';

/**
 * The fields this file encodes by hand, per message, in declaration order
 * (the order toBinary writes them). Should the contract add a field, the
 * frame is encoded by toBinary again (KNOWN_FIELDS below; the spec beside
 * this file fails so the new field gets added here).
 */
export const HAND_ENCODED_FIELDS = {
  ImageFrame: [
    'epoch',
    'batchIdx',
    'step',
    'images',
    'predictions',
    'groundTruth',
    'timestampMs',
    'firstIndex',
  ],
  ImageData: ['imageBytes', 'format', 'width', 'height', 'channels'],
  Prediction: ['predictedClass', 'predictedLabel', 'confidence'],
} as const;

const KNOWN_FIELDS =
  fieldsAre(ImageFrameSchema, HAND_ENCODED_FIELDS.ImageFrame) &&
  fieldsAre(ImageDataSchema, HAND_ENCODED_FIELDS.ImageData) &&
  fieldsAre(PredictionSchema, HAND_ENCODED_FIELDS.Prediction);

/** Wire types. */
const VARINT = 0;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;
const tag = (field: number, wireType: number) => (field << 3) | wireType;

/**
 * The stored form of an image frame: its protobuf encoding, byte for byte
 * what toBinary writes, built in one buffer of the exact size. toBinary
 * allocates a 128-byte buffer per message it starts and doubles it as it
 * grows; with a frame's 16 predictions and images that allocation was ~12%
 * of the server's time at 38 trainers with SQLite (CPU profile, `toBinary`
 * → `ensureCapacity`), and its garbage a share of the 12% in GC. Here sizes
 * are summed first, then every field written once; image bytes are copied
 * once. A frame carrying unknown fields, a negative 64-bit value, or a
 * contract with fields this file does not know goes through toBinary.
 */
export function encodeStoredFrame(
  frame: ImageFrame,
  allocate: (size: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const samples = samplesWire(frame);
  if (samples !== undefined && withSamplesEncodable(frame)) {
    return encodeWithSamples(frame, samples, allocate);
  }
  if (!handEncodable(frame)) {
    const bytes = toBinary(ImageFrameSchema, frame);
    const out = allocate(bytes.byteLength);
    out.set(bytes);
    return out;
  }
  const sizes = new Sizes(frame);
  const out = allocate(sizes.total);
  let at = 0;
  at = int32Field(out, at, 1, frame.epoch);
  at = int32Field(out, at, 2, frame.batchIdx);
  at = uint64Field(out, at, 3, frame.step);
  frame.images.forEach((image, index) => {
    out[at++] = tag(4, LENGTH_DELIMITED);
    at = writeVarint(out, at, sizes.images[index] as number);
    at = writeImage(out, at, image);
  });
  frame.predictions.forEach((prediction, index) => {
    out[at++] = tag(5, LENGTH_DELIMITED);
    at = writeVarint(out, at, sizes.predictions[index] as number);
    at = writePrediction(out, at, prediction);
  });
  if (frame.groundTruth.length > 0) {
    out[at++] = tag(6, LENGTH_DELIMITED);
    at = writeVarint(out, at, sizes.groundTruth);
    for (const label of frame.groundTruth) at = writeInt32(out, at, label);
  }
  at = uint64Field(out, at, 7, frame.timestampMs);
  at = int32Field(out, at, 8, frame.firstIndex);
  if (at !== out.byteLength) {
    // Sizes and writes disagree: a bug here, never a frame stored wrong.
    throw new Error(`stored frame encoding wrote ${at} of ${out.byteLength} bytes`);
  }
  return out;
}

/**
 * A frame built whole from a decoded batch (payload-kinds), around the
 * batch's samples as the trainer encoded them (samples-wire.ts): the
 * pictures, predictions and ground truth are one copy of those bytes,
 * nothing of them is encoded again (encoding them was most of the 11% of the
 * event loop the stored frames took at 45 trainers with SQLite, CPU profile).
 * The frame's own fields go before and after, in the order toBinary writes
 * them, so a canonically encoded batch stores toBinary's very bytes. The
 * buffer is placed 0-7 bytes into its allocation so the samples land at
 * their source's offset modulo 8: one aligned copy (see copyInto).
 */
function encodeWithSamples(
  frame: ImageFrame,
  samples: Uint8Array,
  allocate: (size: number) => Buffer,
): Buffer {
  const head = samplesHeadSize(frame);
  const size = head + samples.byteLength + uint64FieldSize(frame.timestampMs);
  const room = allocate(size + 7);
  const skew = (samples.byteOffset - head - room.byteOffset) & 7;
  const out = room.subarray(skew, skew + size);
  let at = 0;
  at = int32Field(out, at, 1, frame.epoch);
  at = int32Field(out, at, 2, frame.batchIdx);
  at = uint64Field(out, at, 3, frame.step);
  out.set(samples, at);
  at += samples.byteLength;
  at = uint64Field(out, at, 7, frame.timestampMs);
  if (at !== size) throw new Error(`stored frame encoding wrote ${at} of ${size} bytes`);
  return out;
}

/** Bytes of the frame's fields before its samples: epoch, batch_idx and step. */
function samplesHeadSize(frame: ImageFrame): number {
  return int32FieldSize(frame.epoch) + int32FieldSize(frame.batchIdx) + uint64FieldSize(frame.step);
}

/**
 * `toBinary(ImageFrameSchema, frame).byteLength` (what encodeStoredFrame
 * writes), summed without encoding where this file can encode the frame:
 * checking whether a live frame fits one watch event encoded it whole just to
 * learn its length (~3% of the event loop with 14 watched sessions, CPU profile).
 */
export function imageFrameSize(frame: ImageFrame): number {
  const samples = samplesWire(frame);
  if (samples !== undefined && withSamplesEncodable(frame)) {
    return samplesHeadSize(frame) + samples.byteLength + uint64FieldSize(frame.timestampMs);
  }
  if (handEncodable(frame)) return new Sizes(frame).total;
  return toBinary(ImageFrameSchema, frame).byteLength;
}

/** The frame's own fields are what encodeWithSamples writes: a whole frame, nothing unknown. */
function withSamplesEncodable(frame: ImageFrame): boolean {
  return (
    KNOWN_FIELDS &&
    frame.$unknown === undefined &&
    frame.firstIndex === 0 &&
    frame.step >= 0n &&
    frame.timestampMs >= 0n
  );
}

/**
 * Buffers in shared memory carved from slabs, none of them reused (see
 * shared-frame-memory.ts; the store writer takes them from a pool).
 */
export function sharedAllocator(): (size: number) => Buffer {
  return new SharedFrameMemory().allocate;
}

function handEncodable(frame: ImageFrame): boolean {
  if (!KNOWN_FIELDS || frame.$unknown !== undefined) return false;
  if (frame.step < 0n || frame.timestampMs < 0n) return false;
  for (const image of frame.images) if (image.$unknown !== undefined) return false;
  for (const prediction of frame.predictions) if (prediction.$unknown !== undefined) return false;
  return true;
}

/** Encoded sizes of the frame's nested messages and packed list, and of the whole. */
class Sizes {
  readonly images: number[] = [];
  readonly predictions: number[] = [];
  readonly groundTruth: number = 0;
  readonly total: number;

  constructor(frame: ImageFrame) {
    let total =
      int32FieldSize(frame.epoch) +
      int32FieldSize(frame.batchIdx) +
      uint64FieldSize(frame.step) +
      uint64FieldSize(frame.timestampMs) +
      int32FieldSize(frame.firstIndex);
    let previous: ImageData | undefined;
    let previousHead = 0;
    for (const image of frame.images) {
      // A frame's images usually share format and dimensions: their size is summed once.
      const head =
        previous !== undefined && sameHead(previous, image) ? previousHead : imageHeadSize(image);
      previous = image;
      previousHead = head;
      const bytes = image.imageBytes.byteLength;
      const size = head + (bytes > 0 ? 1 + varintLength(bytes) + bytes : 0);
      this.images.push(size);
      total += 1 + varintLength(size) + size;
    }
    for (const prediction of frame.predictions) {
      const size = predictionSize(prediction);
      this.predictions.push(size);
      total += 1 + varintLength(size) + size;
    }
    if (frame.groundTruth.length > 0) {
      let packed = 0;
      for (const label of frame.groundTruth) packed += int32Length(label);
      this.groundTruth = packed;
      total += 1 + varintLength(packed) + packed;
    }
    this.total = total;
  }
}

function sameHead(a: ImageData, b: ImageData): boolean {
  return (
    a.format === b.format &&
    a.width === b.width &&
    a.height === b.height &&
    a.channels === b.channels
  );
}

function imageHeadSize(image: ImageData): number {
  return (
    stringFieldSize(image.format) +
    int32FieldSize(image.width) +
    int32FieldSize(image.height) +
    int32FieldSize(image.channels)
  );
}

/** Largest picture copied through {@link staging} (the scratch buffer grows up to it, once). */
export const MAX_STAGED_COPY_BYTES = 256 * 1024;
let staging = new Uint8Array(0);

/**
 * Copies `bytes` into `out` at `at`. V8 copies into shared memory with
 * relaxed atomic word moves, which only run at full speed when source and
 * target sit at the same offset modulo a word; a frame's pictures land at
 * whatever offsets their tags and lengths leave, so most copies of them into
 * a shared slab went a byte at a time (~1.3 GB/s against ~5 for the aligned
 * copy here, 2 KB pictures; writeImage was 6.5% of the event loop at 38
 * trainers with SQLite, CPU profile). Such a picture is first copied into a
 * private scratch buffer at the target's alignment, then across.
 */
function copyInto(out: Buffer, at: number, bytes: Uint8Array): void {
  const shift = (out.byteOffset + at) & 7;
  if (
    !(out.buffer instanceof SharedArrayBuffer) ||
    ((bytes.byteOffset - shift) & 7) === 0 ||
    bytes.byteLength > MAX_STAGED_COPY_BYTES
  ) {
    out.set(bytes, at);
    return;
  }
  if (staging.byteLength < shift + bytes.byteLength) {
    staging = new Uint8Array(Math.min(MAX_STAGED_COPY_BYTES, 2 * bytes.byteLength) + 8);
  }
  staging.set(bytes, shift);
  out.set(staging.subarray(shift, shift + bytes.byteLength), at);
}

function writeImage(out: Buffer, at: number, image: ImageData): number {
  const bytes = image.imageBytes;
  if (bytes.byteLength > 0) {
    out[at++] = tag(1, LENGTH_DELIMITED);
    at = writeVarint(out, at, bytes.byteLength);
    copyInto(out, at, bytes);
    at += bytes.byteLength;
  }
  at = stringField(out, at, 2, image.format);
  at = int32Field(out, at, 3, image.width);
  at = int32Field(out, at, 4, image.height);
  return int32Field(out, at, 5, image.channels);
}

function predictionSize(prediction: Prediction): number {
  return (
    int32FieldSize(prediction.predictedClass) +
    stringFieldSize(prediction.predictedLabel) +
    (prediction.confidence !== 0 ? 5 : 0)
  );
}

function writePrediction(out: Buffer, at: number, prediction: Prediction): number {
  at = int32Field(out, at, 1, prediction.predictedClass);
  at = stringField(out, at, 2, prediction.predictedLabel);
  if (prediction.confidence !== 0) {
    out[at++] = tag(3, FIXED32);
    at = out.writeFloatLE(prediction.confidence, at);
  }
  return at;
}

// Implicit presence (proto3): zero numbers and empty strings are not written, as toBinary does.

function int32FieldSize(value: number): number {
  return value === 0 ? 0 : 1 + int32Length(value);
}

function int32Field(out: Buffer, at: number, field: number, value: number): number {
  if (value === 0) return at;
  out[at++] = tag(field, VARINT);
  return writeInt32(out, at, value);
}

function uint64FieldSize(value: bigint): number {
  return value === 0n ? 0 : 1 + uint64VarintLength(value);
}

function uint64Field(out: Buffer, at: number, field: number, value: bigint): number {
  if (value === 0n) return at;
  out[at++] = tag(field, VARINT);
  return writeUint64Varint(out, at, value);
}

/** Strings up to this long are checked for ASCII and written a character at a time. */
const SHORT_STRING = 32;

function stringFieldSize(value: string): number {
  if (value.length === 0) return 0;
  const length = isShortAscii(value, SHORT_STRING)
    ? value.length
    : Buffer.byteLength(value, 'utf8');
  return 1 + varintLength(length) + length;
}

/**
 * A string field as toBinary writes it. Formats ('jpeg') and labels are
 * short ASCII, written here without Buffer's UTF-8 calls (two per picture
 * were 1.2% of the event loop at 38 trainers with SQLite, CPU profile).
 */
function stringField(out: Buffer, at: number, field: number, value: string): number {
  if (value.length === 0) return at;
  out[at++] = tag(field, LENGTH_DELIMITED);
  if (isShortAscii(value, SHORT_STRING)) {
    at = writeVarint(out, at, value.length);
    return writeAscii(out, at, value);
  }
  const length = Buffer.byteLength(value, 'utf8');
  at = writeVarint(out, at, length);
  return at + out.write(value, at, length, 'utf8');
}

/** A negative int32 is written as its 64-bit two's complement: ten bytes. */
function int32Length(value: number): number {
  return value < 0 ? 10 : varintLength(value);
}

function writeInt32(out: Buffer, at: number, value: number): number {
  if (value >= 0) return writeVarint(out, at, value);
  return writeUint64Varint(out, at, BigInt.asUintN(64, BigInt(value)));
}
