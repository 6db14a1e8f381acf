import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ImageDataSchema, ImageFrameSchema } from '@trainwatch/proto';
import { encodeStoredFrame, SHARED_IMAGE_FIELDS } from './frame-encoding';

function frameOf(imageSizes: number[]) {
  return create(ImageFrameSchema, {
    epoch: 3,
    batchIdx: 17,
    step: 123_456_789_012n,
    timestampMs: 1_700_000_000_000n,
    firstIndex: 2,
    groundTruth: [1, 0, 4],
    predictions: [{ predictedClass: 1, confidence: 0.5 }],
    images: imageSizes.map((size, index) => ({
      imageBytes: Uint8Array.from({ length: size }, (_, at) => (at * 31 + index) & 0xff),
      format: 'jpeg',
      width: 32 + index,
      height: 32,
      channels: 3,
    })),
  });
}

describe('encodeStoredFrame', () => {
  it.each([
    ['16 images of 2 KB', Array(16).fill(2048)],
    ['sizes around the varint boundaries', [0, 1, 127, 128, 16_383, 16_384, 70_000]],
    ['no images', []],
  ])('decodes to the same frame as toBinary writes (%s)', (_label, sizes) => {
    const frame = frameOf(sizes);
    const bytes = encodeStoredFrame(frame);
    const decoded = fromBinary(ImageFrameSchema, bytes);
    expect(equals(ImageFrameSchema, decoded, frame)).toBe(true);
    // Same fields, same sizes: only their order differs.
    expect(bytes.byteLength).toBe(toBinary(ImageFrameSchema, frame).byteLength);
  });

  it('encodes images that differ in their other fields each with its own', () => {
    const frame = frameOf([5, 6, 7]);
    (frame.images[1] as { width: number }).width = 999;
    (frame.images[2] as { format: string }).format = 'png';
    const decoded = fromBinary(ImageFrameSchema, encodeStoredFrame(frame));
    expect(equals(ImageFrameSchema, decoded, frame)).toBe(true);
  });

  it('knows every field of ImageData (a new one must be added to SHARED_IMAGE_FIELDS or the shared encoding stops)', () => {
    expect(ImageDataSchema.fields.map((field) => field.localName).sort()).toEqual(
      ['imageBytes', ...SHARED_IMAGE_FIELDS].sort(),
    );
  });

  it('leaves the frame it encodes unchanged (fan-out may hold its cached encoding)', () => {
    const frame = frameOf([10, 20]);
    const before = toBinary(ImageFrameSchema, frame);
    encodeStoredFrame(frame);
    expect(toBinary(ImageFrameSchema, frame)).toEqual(before);
    expect(frame.images).toHaveLength(2);
  });
});
