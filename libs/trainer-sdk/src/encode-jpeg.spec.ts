import { decode, encode } from 'jpeg-js';
import { encodeJpeg, fitWithin, type RawImage } from './encode-jpeg';
import { reusableEncoderAvailable } from './jpeg-encoder';

function solid(width: number, height: number, channels: 1 | 3 | 4, value: number[]): RawImage {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) data.set(value, i * channels);
  return { width, height, channels, data };
}

function centrePixel(bytes: Uint8Array) {
  const image = decode(bytes, { useTArray: true });
  const o = (Math.floor(image.height / 2) * image.width + Math.floor(image.width / 2)) * 4;
  return { width: image.width, height: image.height, rgb: Array.from(image.data.slice(o, o + 3)) };
}

function expectColour(actual: number[], expected: number[]) {
  actual.forEach((channel, i) => expect(Math.abs(channel - expected[i]!)).toBeLessThanOrEqual(6));
}

describe('encodeJpeg', () => {
  it('encodes RGB that decodes back to the same size and colour', () => {
    const image = encodeJpeg(solid(32, 32, 3, [200, 30, 60]));
    expect(Array.from(image.imageBytes.slice(0, 3))).toEqual([0xff, 0xd8, 0xff]);
    expect(image).toMatchObject({ format: 'jpeg', width: 32, height: 32, channels: 3 });
    const decoded = centrePixel(image.imageBytes);
    expect([decoded.width, decoded.height]).toEqual([32, 32]);
    expectColour(decoded.rgb, [200, 30, 60]);
  });

  it('encodes grayscale and RGBA (alpha ignored)', () => {
    const grey = encodeJpeg(solid(8, 4, 1, [128]));
    expect(grey).toMatchObject({ width: 8, height: 4, channels: 1 });
    expectColour(centrePixel(grey.imageBytes).rgb, [128, 128, 128]);
    const rgba = encodeJpeg(solid(5, 7, 4, [10, 220, 40, 0]));
    expect(rgba).toMatchObject({ width: 5, height: 7, channels: 3 });
    expectColour(centrePixel(rgba.imageBytes).rgb, [10, 220, 40]);
  });

  it('shrinks to the maximum dimension keeping aspect, averaging with a box filter', () => {
    // Left half black, right half white: after halving, still split, each side flat.
    const width = 600;
    const height = 300;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = width / 2; x < width; x++)
        data.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
    const image = encodeJpeg({ width, height, channels: 3, data }, { maxDimension: 256 });
    expect([image.width, image.height]).toEqual([256, 128]);
    const decoded = decode(image.imageBytes, { useTArray: true });
    expect([decoded.width, decoded.height]).toEqual([256, 128]);
    const at = (x: number, y: number) => decoded.data[(y * 256 + x) * 4]!;
    expect(at(40, 64)).toBeLessThan(10);
    expect(at(220, 64)).toBeGreaterThan(245);
  });

  it('never enlarges', () => {
    expect(fitWithin(10, 20, 256)).toEqual([10, 20]);
    expect(fitWithin(1000, 1, 100)).toEqual([100, 1]);
  });

  it('rejects pixel data that does not add up, naming the numbers', () => {
    expect(() =>
      encodeJpeg({ width: 4, height: 4, channels: 3, data: new Uint8Array(47) }),
    ).toThrow(/47 bytes, expected 48 \(4x4x3\)/);
    expect(() => encodeJpeg({ width: 0, height: 4, channels: 3, data: new Uint8Array(0) })).toThrow(
      RangeError,
    );
    expect(() =>
      encodeJpeg({ width: 1, height: 1, channels: 2 as 3, data: new Uint8Array(2) }),
    ).toThrow(/channels/);
    expect(() => encodeJpeg(solid(2, 2, 1, [0]), { maxDimension: 0 })).toThrow(/maxDimension/);
  });
});

describe('the reused jpeg-js encoder', () => {
  it('is in use, and gives the same bytes as a fresh jpeg-js encoder', () => {
    expect(reusableEncoderAvailable()).toBe(true);
    const raw = solid(16, 16, 4, [90, 140, 200, 255]);
    const reused = encodeJpeg(raw, { quality: 70 }).imageBytes;
    const fresh = encode({ width: 16, height: 16, data: raw.data }, 70).data;
    expect(Buffer.from(reused).equals(fresh)).toBe(true);
    // A quality change on the shared encoder must not leak into the next call.
    encodeJpeg(raw, { quality: 20 });
    expect(Buffer.from(encodeJpeg(raw, { quality: 70 }).imageBytes).equals(fresh)).toBe(true);
  });
});
