import { encode } from 'jpeg-js';

/** One pre-encoded JPEG and its pixel size. */
export interface JpegPayload {
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** Smallest and largest square side tried when sizing a JPEG. */
const MIN_SIDE = 8;
const MAX_SIDE = 512;
const QUALITY = 75;
/** Noise amplitude: enough that the encoder cannot squeeze the image to nothing. */
const NOISE_AMPLITUDE = 40;

function noiseImage(side: number, seed: number): JpegPayload {
  const data = Buffer.alloc(side * side * 4);
  let state = seed >>> 0 || 1;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      // Linear congruential noise: deterministic, so runs are comparable.
      state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
      const noise = (state % (2 * NOISE_AMPLITUDE + 1)) - NOISE_AMPLITUDE;
      const i = (y * side + x) * 4;
      data[i] = Math.max(0, Math.min(255, ((x * 4) % 256) + noise));
      data[i + 1] = Math.max(0, Math.min(255, ((y * 4) % 256) + noise));
      data[i + 2] = Math.max(0, Math.min(255, 128 + noise));
      data[i + 3] = 255;
    }
  }
  const encoded = encode({ data, width: side, height: side }, QUALITY);
  return { bytes: new Uint8Array(encoded.data), width: side, height: side };
}

/**
 * A square noise JPEG whose encoded size is as close to `targetBytes` as the
 * side length allows (binary search over the side; size grows with it).
 */
export function jpegOfSize(targetBytes: number, seed = 1): JpegPayload {
  let low = MIN_SIDE;
  let high = MAX_SIDE;
  let best = noiseImage(low, seed);
  while (low <= high) {
    const side = (low + high) >> 1;
    const image = noiseImage(side, seed);
    if (Math.abs(image.bytes.length - targetBytes) < Math.abs(best.bytes.length - targetBytes))
      best = image;
    if (image.bytes.length < targetBytes) low = side + 1;
    else high = side - 1;
  }
  return best;
}

/** `count` distinct JPEGs of about `targetBytes` each (different noise seeds). */
export function jpegSet(targetBytes: number, count: number): JpegPayload[] {
  return Array.from({ length: count }, (_, i) => jpegOfSize(targetBytes, i + 1));
}
