import { create, toBinary } from '@bufbuild/protobuf';
import { ImageFrameSchema } from '@trainwatch/proto';
import { imageFrameParts } from './image-frame-parts';

const jpeg = (bytes: number) => new Uint8Array(bytes).fill(7);
const frame = (sizes: number[], label = 'cat') =>
  create(ImageFrameSchema, {
    step: 5n,
    batchIdx: 5,
    images: sizes.map((size) => ({ imageBytes: jpeg(size), format: 'jpeg', width: 8, height: 8 })),
    predictions: sizes.map((_, index) => ({
      predictedClass: index,
      predictedLabel: label,
      confidence: 0.5,
    })),
    groundTruth: sizes.map((_, index) => 0 - index || 0),
  });

describe('imageFrameParts', () => {
  it('sends a frame that fits as itself', () => {
    const whole = frame([10, 10]);
    expect(imageFrameParts(whole, 1000)).toEqual([whole]);
  });

  it('splits a large frame into in-order parts under the bound, each naming its first index', () => {
    const parts = imageFrameParts(frame([400, 400, 400, 400, 400]), 1000);
    expect(parts.map((part) => part.firstIndex)).toEqual([0, 2, 4]);
    for (const part of parts) {
      expect(toBinary(ImageFrameSchema, part).byteLength).toBeLessThanOrEqual(1000);
      expect(part.step).toBe(5n);
      expect(part.predictions).toHaveLength(part.images.length);
    }
    expect(parts.flatMap((part) => part.groundTruth)).toEqual([0, -1, -2, -3, -4]);
  });

  it('sends an image too large for any message without its bytes, and cuts long labels', () => {
    const parts = imageFrameParts(frame([10, 5000], 'l'.repeat(1000)), 1000);
    const images = parts.flatMap((part) => part.images);
    expect(images.map((image) => image.imageBytes.length)).toEqual([10, 0]);
    expect(images[1]?.width).toBe(8);
    expect(parts[0]?.predictions[0]?.predictedLabel).toHaveLength(256);
  });
});
