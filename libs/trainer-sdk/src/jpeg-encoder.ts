import { readFileSync } from 'node:fs';
import { encode as encodeOnce } from 'jpeg-js';

/** RGBA pixels in, JPEG bytes out. */
export type JpegEncodeFn = (
  image: { width: number; height: number; data: Uint8Array },
  quality: number,
) => Uint8Array;

interface ReusableEncoder {
  encode(image: { width: number; height: number; data: Uint8Array }, quality: number): Uint8Array;
}
type EncoderConstructor = new (quality: number) => ReusableEncoder;

/**
 * jpeg-js' `encode()` builds a new encoder per call, and building one fills
 * ~65k-entry lookup tables: ~40 ms, whatever the image size, which would
 * make 16 thumbnails per batch cost more than half a second. Its encoder
 * object is reusable but not exported, so it is taken from jpeg-js' own
 * encoder source (same file, same version, no copy of its code here).
 */
function loadReusableEncoder(): EncoderConstructor | undefined {
  try {
    const source = readFileSync(require.resolve('jpeg-js/lib/encoder.js'), 'utf8');
    const factory = new Function(
      'module',
      'exports',
      'require',
      `${source}\nreturn typeof JPEGEncoder === 'function' ? JPEGEncoder : undefined;`,
    ) as (module: object, exports: object, req: NodeRequire) => EncoderConstructor | undefined;
    return factory({ exports: {} }, {}, require);
  } catch {
    return undefined;
  }
}

let encoder: ReusableEncoder | undefined;
let resolved = false;

/** Whether the fast, reused encoder is in use (false: falls back to jpeg-js' encode()). */
export function reusableEncoderAvailable(): boolean {
  if (!resolved) {
    resolved = true;
    const Constructor = loadReusableEncoder();
    encoder = Constructor === undefined ? undefined : new Constructor(85);
  }
  return encoder !== undefined;
}

/** Encodes RGBA pixels with one process-wide jpeg-js encoder (synchronous, so never shared mid-call). */
export const encodeRgbaJpeg: JpegEncodeFn = (image, quality) => {
  if (reusableEncoderAvailable()) return encoder!.encode(image, quality);
  return encodeOnce(image, quality).data;
};
