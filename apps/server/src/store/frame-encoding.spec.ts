import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import {
  BatchDataSchema,
  carrySamplesWire,
  ImageDataSchema,
  ImageFrameSchema,
  PredictionSchema,
  samplesWire,
  type ImageFrame,
} from '@trainwatch/proto';
import {
  encodeStoredFrame,
  HAND_ENCODED_FIELDS,
  MAX_STAGED_COPY_BYTES,
  SHARED_SLAB_BYTES,
  sharedAllocator,
} from './frame-encoding';
import { decodedFrame, SIXTEEN_IMAGES } from '../../test/fixtures/decoded-batch';

function frameOf(imageSizes: number[]): ImageFrame {
  return create(ImageFrameSchema, {
    epoch: 3,
    batchIdx: 17,
    step: 123_456_789_012n,
    timestampMs: 1_700_000_000_000n,
    firstIndex: 2,
    groundTruth: [1, 0, 4, 300],
    predictions: [
      { predictedClass: 1, confidence: 0.5 },
      { predictedClass: 0, predictedLabel: 'chat — ünïcode 猫', confidence: 0 },
      { predictedClass: 7, predictedLabel: 'dog', confidence: 0.375 },
    ],
    images: imageSizes.map((size, index) => ({
      imageBytes: Uint8Array.from({ length: size }, (_, at) => (at * 31 + index) & 0xff),
      format: 'jpeg',
      width: 32 + index,
      height: 32,
      channels: 3,
    })),
  });
}

/** The stored bytes are exactly what toBinary writes, and decode to a frame that encodes to them again. */
function expectSameAsToBinary(frame: ImageFrame): void {
  const bytes = encodeStoredFrame(frame);
  expect(Buffer.compare(bytes, Buffer.from(toBinary(ImageFrameSchema, frame)))).toBe(0);
  const decoded = fromBinary(ImageFrameSchema, bytes);
  expect(Buffer.compare(Buffer.from(toBinary(ImageFrameSchema, decoded)), bytes)).toBe(0);
}

describe('encodeStoredFrame', () => {
  it.each([
    ['16 images of 2 KB', Array(16).fill(2048)],
    ['sizes around the varint boundaries', [0, 1, 127, 128, 16_383, 16_384, 70_000]],
    ['no images', []],
  ])('writes the bytes toBinary writes (%s)', (_label, sizes) => {
    const frame = frameOf(sizes);
    expectSameAsToBinary(frame);
    expect(
      equals(ImageFrameSchema, fromBinary(ImageFrameSchema, encodeStoredFrame(frame)), frame),
    ).toBe(true);
  });

  it('writes zero and empty fields as toBinary does (left out)', () => {
    expectSameAsToBinary(create(ImageFrameSchema, {}));
    expectSameAsToBinary(
      create(ImageFrameSchema, { images: [{}], predictions: [{}], groundTruth: [0] }),
    );
  });

  it('writes negative 32-bit values, steps past 2^53 and a NaN confidence as toBinary does', () => {
    const frame = frameOf([3]);
    frame.epoch = -1;
    frame.firstIndex = -2_147_483_648;
    frame.groundTruth = [-5, 2_147_483_647];
    frame.step = 2n ** 63n - 1n;
    frame.timestampMs = 2n ** 53n + 1n;
    (frame.predictions[0] as { confidence: number }).confidence = Number.NaN;
    (frame.images[0] as { width: number }).width = -3;
    expectSameAsToBinary(frame);
  });

  it('encodes images that differ in their other fields each with its own', () => {
    const frame = frameOf([5, 6, 7]);
    (frame.images[1] as { width: number }).width = 999;
    (frame.images[2] as { format: string }).format = 'png';
    expectSameAsToBinary(frame);
  });

  it('keeps unknown fields and negative 64-bit values (through toBinary)', () => {
    const frame = frameOf([4]);
    const withUnknown = fromBinary(
      ImageFrameSchema,
      Buffer.concat([toBinary(ImageFrameSchema, frame), Buffer.from([0xf8, 0x06, 0x2a])]),
    );
    expect(withUnknown.$unknown).toHaveLength(1);
    expect(
      Buffer.compare(encodeStoredFrame(withUnknown), toBinary(ImageFrameSchema, withUnknown)),
    ).toBe(0);
    frame.step = -7n;
    expectSameAsToBinary(frame);
  });

  it('knows every field of ImageFrame, ImageData and Prediction in declaration order (a new one must be added, or frames go through toBinary)', () => {
    expect(ImageFrameSchema.fields.map((field) => field.localName)).toEqual(
      HAND_ENCODED_FIELDS.ImageFrame,
    );
    expect(ImageDataSchema.fields.map((field) => field.localName)).toEqual(
      HAND_ENCODED_FIELDS.ImageData,
    );
    expect(PredictionSchema.fields.map((field) => field.localName)).toEqual(
      HAND_ENCODED_FIELDS.Prediction,
    );
  });

  it('encodes into shared memory when asked (the write thread reads it without a copy)', () => {
    const allocate = sharedAllocator();
    const first = frameOf([2048, 2048]);
    const second = frameOf([100]);
    const a = encodeStoredFrame(first, allocate);
    const b = encodeStoredFrame(second, allocate);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    // Frames share a slab without overlapping.
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + a.byteLength);
    expect(Buffer.compare(a, Buffer.from(toBinary(ImageFrameSchema, first)))).toBe(0);
    expect(Buffer.compare(b, Buffer.from(toBinary(ImageFrameSchema, second)))).toBe(0);
  });

  it('copies pictures at any offset of their buffer into shared memory exactly, staged or not', () => {
    const allocate = sharedAllocator();
    // Pictures that are views at every offset modulo 8 of one received buffer (as a decoded
    // message's are), one of them larger than the staged copies, frames at varying offsets.
    const received = Uint8Array.from(
      { length: 2 * MAX_STAGED_COPY_BYTES + 64 },
      (_, at) => (at * 7) & 0xff,
    );
    for (let lead = 0; lead < 8; lead++) {
      const frame = frameOf([]);
      for (let offset = 0; offset < 8; offset++) {
        const length = offset === 5 ? MAX_STAGED_COPY_BYTES + 3 : 2048 + offset;
        frame.images.push(
          create(ImageDataSchema, {
            imageBytes: received.subarray(offset + lead, offset + lead + length),
            format: 'jpeg',
          }),
        );
      }
      allocate(lead + 1);
      const stored = encodeStoredFrame(frame, allocate);
      expect(stored.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(Buffer.compare(stored, Buffer.from(toBinary(ImageFrameSchema, frame)))).toBe(0);
    }
  });

  it('starts a new slab when a frame does not fit, and gives a frame over the slab size its own', () => {
    const allocate = sharedAllocator();
    const small = allocate(SHARED_SLAB_BYTES - 16);
    const next = allocate(64);
    const huge = allocate(SHARED_SLAB_BYTES * 2);
    expect(next.buffer).not.toBe(small.buffer);
    expect(huge.byteLength).toBe(SHARED_SLAB_BYTES * 2);
    expect(huge.buffer).not.toBe(next.buffer);
    small.fill(1);
    next.fill(2);
    expect(small.every((byte) => byte === 1)).toBe(true);
  });

  it('leaves the frame it encodes unchanged (fan-out may hold its cached encoding)', () => {
    const frame = frameOf([10, 20]);
    const before = toBinary(ImageFrameSchema, frame);
    encodeStoredFrame(frame);
    expect(toBinary(ImageFrameSchema, frame)).toEqual(before);
    expect(frame.images).toHaveLength(2);
  });
});

describe("encodeStoredFrame with a decoded batch's samples", () => {
  it("stores toBinary's bytes, the samples one aligned copy into shared memory, for requests at any offset", () => {
    const allocate = sharedAllocator();
    for (let lead = 0; lead < 8; lead++) {
      const { frame } = decodedFrame(toBinary(BatchDataSchema, SIXTEEN_IMAGES), lead);
      const samples = samplesWire(frame);
      expect(samples).toBeDefined();
      allocate(lead + 1);
      for (const stored of [encodeStoredFrame(frame), encodeStoredFrame(frame, allocate)]) {
        expect(Buffer.compare(stored, Buffer.from(toBinary(ImageFrameSchema, frame)))).toBe(0);
      }
      const shared = encodeStoredFrame(frame, allocate);
      expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
      // Where the samples start in the stored frame (after epoch, batch_idx, step) shares
      // their source's offset modulo 8.
      const head = Buffer.from(shared).indexOf(Buffer.from(samples as Uint8Array));
      expect(head).toBeGreaterThan(0);
      expect((shared.byteOffset + head) & 7).toBe((samples as Uint8Array).byteOffset & 7);
    }
  });

  it('takes the samples as the trainer encoded them: another valid order decodes to the same frame', () => {
    const image = (i: number) =>
      toBinary(
        ImageDataSchema,
        create(ImageDataSchema, { imageBytes: new Uint8Array(100).fill(i), format: 'jpeg' }),
      );
    // Predictions before images, ground truth unpacked: valid, not what toBinary writes.
    const prediction = toBinary(
      PredictionSchema,
      create(PredictionSchema, { predictedClass: 2, confidence: 0.25 }),
    );
    const batchBytes = new BinaryWriter()
      .tag(1, WireType.Varint)
      .int32(3)
      .tag(5, WireType.LengthDelimited)
      .bytes(prediction)
      .tag(4, WireType.LengthDelimited)
      .bytes(image(1))
      .tag(6, WireType.Varint)
      .int32(2)
      .tag(4, WireType.LengthDelimited)
      .bytes(image(2))
      .tag(7, WireType.Bit64)
      .double(0.5)
      .finish();
    const { frame } = decodedFrame(batchBytes);
    expect(samplesWire(frame)).toBeDefined();
    const stored = encodeStoredFrame(frame, sharedAllocator());
    expect(equals(ImageFrameSchema, fromBinary(ImageFrameSchema, stored), frame)).toBe(true);
    expect(frame.images).toHaveLength(2);
  });

  it('encodes a later part of a frame (first_index > 0) field by field, whatever it carries', () => {
    const { batch, frame } = decodedFrame(toBinary(BatchDataSchema, SIXTEEN_IMAGES));
    const part = create(ImageFrameSchema, {
      ...frame,
      firstIndex: 4,
      images: frame.images.slice(4),
      predictions: frame.predictions.slice(4),
      groundTruth: frame.groundTruth.slice(4),
    });
    // Even with the whole batch's samples on it, they are not this part's.
    carrySamplesWire(batch, part);
    expect(samplesWire(part)).toBeDefined();
    const stored = encodeStoredFrame(part);
    expect(Buffer.compare(stored, Buffer.from(toBinary(ImageFrameSchema, part)))).toBe(0);
  });
});
