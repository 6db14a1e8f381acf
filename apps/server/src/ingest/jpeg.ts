/** Width and height read from a JPEG frame header. */
export interface JpegSize {
  width: number;
  height: number;
}

/** What {@link inspectJpeg} found: the frame size, and what is wrong with the rest, if anything. */
export interface JpegInspection {
  /** From the start-of-frame header; undefined when there is none before the scan. */
  size: JpegSize | undefined;
  /** Why the bytes are not a whole JPEG; undefined when they are. */
  problem: string | undefined;
}

/** Start-of-frame markers (baseline, progressive, lossless, arithmetic): C0-CF minus DHT, JPG and DAC. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

const START_OF_SCAN = 0xda;
const END_OF_IMAGE = 0xd9;

/** True when the bytes start with the JPEG magic FF D8 FF. */
export function hasJpegMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** True when the last two bytes are the end-of-image marker FF D9. */
export function endsWithEndOfImage(bytes: Uint8Array): boolean {
  const length = bytes.length;
  return length >= 2 && bytes[length - 2] === 0xff && bytes[length - 1] === END_OF_IMAGE;
}

/**
 * Checks a JPEG's structure without decoding any pixels: walks the marker
 * segments after SOI, reading the frame size from the start-of-frame header,
 * up to the start of scan, then checks that the bytes end with EOI. A file
 * cut short anywhere after its headers loses its EOI, so this catches
 * truncation for the cost of reading the headers (tens of bytes) and the
 * last two bytes; a complete file with a corrupt scan is not detected.
 */
export function inspectJpeg(bytes: Uint8Array): JpegInspection {
  if (!hasJpegMagic(bytes)) {
    return { size: undefined, problem: 'bytes do not start with the JPEG magic FF D8 FF' };
  }
  let size: JpegSize | undefined;
  const fail = (problem: string): JpegInspection => ({ size, problem });
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return fail('garbage between JPEG marker segments');
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
    if (marker === END_OF_IMAGE) return fail('the JPEG ends (EOI) before any scan');
    const length = ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number);
    if (length < 2) return fail('a JPEG marker segment declares a length under 2');
    const end = offset + 2 + length;
    if (marker === START_OF_SCAN) {
      if (size === undefined) return fail('no JPEG frame header (SOF) before the scan');
      // The scan's data must follow its header, and the file must end with EOI.
      if (end + 2 > bytes.length || !endsWithEndOfImage(bytes)) {
        return fail('the JPEG does not end with the end-of-image marker FF D9: it is truncated');
      }
      return { size, problem: undefined };
    }
    if (isStartOfFrame(marker) && size === undefined) {
      if (offset + 9 > bytes.length || length < 7)
        return fail('the JPEG frame header is cut short');
      const height = ((bytes[offset + 5] as number) << 8) | (bytes[offset + 6] as number);
      const width = ((bytes[offset + 7] as number) << 8) | (bytes[offset + 8] as number);
      size = { width, height };
    }
    offset = end;
  }
  return fail(
    size === undefined
      ? 'no JPEG frame header (SOF) found'
      : 'the JPEG ends inside its headers, before the scan: it is truncated',
  );
}

/**
 * Reads the frame size from a JPEG's SOF segment without decoding any
 * pixels. Returns undefined when the bytes are not a JPEG or end before a
 * frame header (the rest of the file is not checked: see {@link inspectJpeg}).
 */
export function readJpegSize(bytes: Uint8Array): JpegSize | undefined {
  return inspectJpeg(bytes).size;
}
