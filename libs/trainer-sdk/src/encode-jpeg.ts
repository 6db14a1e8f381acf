import { create } from '@bufbuild/protobuf';
import { ImageDataSchema, type ImageData } from '@trainwatch/proto';
import { encodeRgbaJpeg } from './jpeg-encoder';

/** Raw pixels, row-major, 8 bits per channel, no row padding. */
export interface RawImage {
  width: number;
  height: number;
  /** 1 = grayscale, 3 = RGB, 4 = RGBA (alpha is ignored: JPEG has none). */
  channels: 1 | 3 | 4;
  data: Uint8Array | Uint8ClampedArray;
}

/** How to encode. */
export interface EncodeJpegOptions {
  /** Largest width or height of the result; larger images are shrunk keeping aspect. Default 256. */
  maxDimension?: number;
  /** JPEG quality 1-100. Default 85. */
  quality?: number;
}

/** Default {@link EncodeJpegOptions.maxDimension}. */
export const DEFAULT_MAX_IMAGE_DIMENSION = 256;

function checkRaw(image: RawImage): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`channels must be 1, 3 or 4, got ${String(channels)}`);
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new RangeError(
      `pixel data has ${data.length} bytes, expected ${expected} (${width}x${height}x${channels})`,
    );
  }
}

/** Size after shrinking so neither side exceeds `max`, keeping aspect; never grows. */
export function fitWithin(width: number, height: number, max: number): [number, number] {
  const scale = Math.min(1, max / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

/**
 * Resizes to `outW`x`outH` with a box filter (each output pixel is the mean of
 * the source pixels it covers) into RGBA, which is what the encoder takes.
 */
function boxResizeToRgba(image: RawImage, outW: number, outH: number): Uint8Array {
  const { width, height, channels, data } = image;
  const out = new Uint8Array(outW * outH * 4);
  const sx = width / outW;
  const sy = height / outH;
  for (let oy = 0; oy < outH; oy++) {
    const y0 = Math.floor(oy * sy);
    const y1 = Math.max(y0 + 1, Math.floor((oy + 1) * sy));
    for (let ox = 0; ox < outW; ox++) {
      const x0 = Math.floor(ox * sx);
      const x1 = Math.max(x0 + 1, Math.floor((ox + 1) * sx));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * channels;
          const red = data[i]!;
          r += red;
          g += channels === 1 ? red : data[i + 1]!;
          b += channels === 1 ? red : data[i + 2]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (oy * outW + ox) * 4;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
      out[o + 3] = 255;
    }
  }
  return out;
}

/**
 * Encodes raw pixels as a JPEG ImageData ready for `logBatch`, shrinking it
 * first (box filter, aspect kept) so neither side exceeds `maxDimension`
 * (pass the server's `max_image_dimension`; TrainingSession.encodeImage does).
 * Uses jpeg-js, a maintained pure-JavaScript encoder: no native build, runs
 * wherever Node runs. Synchronous; a 32x32 image takes about a millisecond.
 *
 * @throws RangeError for a size, channel count or data length that do not add up
 */
export function encodeJpeg(image: RawImage, options: EncodeJpegOptions = {}): ImageData {
  checkRaw(image);
  const maxDimension = options.maxDimension ?? DEFAULT_MAX_IMAGE_DIMENSION;
  const quality = options.quality ?? 85;
  if (!Number.isInteger(maxDimension) || maxDimension < 1) {
    throw new RangeError(`maxDimension must be an integer >= 1, got ${maxDimension}`);
  }
  if (!(quality >= 1 && quality <= 100)) {
    throw new RangeError(`quality must be 1-100, got ${quality}`);
  }
  const [width, height] = fitWithin(image.width, image.height, maxDimension);
  const rgba = boxResizeToRgba(image, width, height);
  const jpeg = encodeRgbaJpeg({ width, height, data: rgba }, quality);
  return create(ImageDataSchema, {
    imageBytes: new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength),
    format: 'jpeg',
    width,
    height,
    channels: image.channels === 1 ? 1 : 3,
  });
}
