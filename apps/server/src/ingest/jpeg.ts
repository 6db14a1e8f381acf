/** Width and height read from a JPEG frame header. */
export interface JpegSize {
  width: number;
  height: number;
}

/** Start-of-frame markers (baseline, progressive, lossless, arithmetic): C0-CF minus DHT, JPG and DAC. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** True when the bytes start with the JPEG magic FF D8 FF. */
export function hasJpegMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Reads the frame size from a JPEG's SOF segment without decoding any
 * pixels: walks the marker segments after SOI until a start-of-frame.
 * Returns undefined when the bytes are not a JPEG or end before a frame header.
 */
export function readJpegSize(bytes: Uint8Array): JpegSize | undefined {
  if (!hasJpegMagic(bytes)) return undefined;
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1] as number;
    // Fill bytes (FF FF) and stand-alone markers carry no length.
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      offset += 2;
      continue;
    }
    // Start of scan or end of image before any frame header: malformed.
    if (marker === 0xda || marker === 0xd9) return undefined;
    const length = ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number);
    if (length < 2) return undefined;
    if (isStartOfFrame(marker)) {
      if (offset + 9 > bytes.length || length < 7) return undefined;
      const height = ((bytes[offset + 5] as number) << 8) | (bytes[offset + 6] as number);
      const width = ((bytes[offset + 7] as number) << 8) | (bytes[offset + 8] as number);
      return { width, height };
    }
    offset += 2 + length;
  }
  return undefined;
}
