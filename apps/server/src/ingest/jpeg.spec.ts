import { encode } from 'jpeg-js';
import { endsWithEndOfImage, hasJpegMagic, inspectJpeg, readJpegSize } from './jpeg';

function jpeg(width: number, height: number): Uint8Array {
  return new Uint8Array(encode({ data: Buffer.alloc(width * height * 4), width, height }, 50).data);
}

describe('readJpegSize', () => {
  it.each([
    [1, 1],
    [33, 17],
    [512, 3],
  ])('reads %ix%i from a real JPEG frame header', (width, height) => {
    expect(readJpegSize(jpeg(width, height))).toEqual({ width, height });
  });

  it('skips APPn segments and fill bytes before a progressive SOF2', () => {
    const bytes = new Uint8Array([
      0xff, 0xd8, 0xff, 0xe1, 0x00, 0x04, 0xaa, 0xbb, 0xff, 0xff, 0xc2, 0x00, 0x0b, 0x08, 0x01,
      0x00, 0x02, 0x80, 0x01, 0x01, 0x11, 0x00,
    ]);
    expect(readJpegSize(bytes)).toEqual({ width: 640, height: 256 });
  });

  it('does not mistake a DHT segment (C4) for a frame header', () => {
    const bytes = new Uint8Array([
      0xff, 0xd8, 0xff, 0xc4, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x08, 0x08, 0x00, 0x07,
      0x00, 0x09,
    ]);
    expect(readJpegSize(bytes)).toEqual({ width: 9, height: 7 });
  });

  it.each([
    ['PNG', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a])],
    ['empty', new Uint8Array()],
    ['magic only', new Uint8Array([0xff, 0xd8, 0xff])],
    ['scan before any frame', new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02])],
    ['truncated frame header', new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00])],
    ['garbage between segments', new Uint8Array([0xff, 0xd8, 0x12, 0x34, 0x56, 0x78])],
  ])('undefined for %s', (_name, bytes) => {
    expect(readJpegSize(bytes)).toBeUndefined();
  });

  it('hasJpegMagic checks FF D8 FF only', () => {
    expect(hasJpegMagic(new Uint8Array([0xff, 0xd8, 0xff]))).toBe(true);
    expect(hasJpegMagic(new Uint8Array([0xff, 0xd8, 0x00]))).toBe(false);
  });
});

describe('inspectJpeg', () => {
  const whole = jpeg(24, 16);

  it('a whole JPEG from a real encoder has its size and no problem', () => {
    expect(inspectJpeg(whole)).toEqual({ size: { width: 24, height: 16 }, problem: undefined });
  });

  it.each([
    ['cut in the scan data', (bytes: Uint8Array) => bytes.subarray(0, bytes.length - 10)],
    [
      'missing only the last byte of EOI',
      (bytes: Uint8Array) => bytes.subarray(0, bytes.length - 1),
    ],
    ['missing EOI', (bytes: Uint8Array) => bytes.subarray(0, bytes.length - 2)],
  ])('a JPEG %s is truncated, though its frame header is intact', (_case, cut) => {
    const result = inspectJpeg(cut(whole));
    expect(result.size).toEqual({ width: 24, height: 16 });
    expect(result.problem).toMatch(
      /does not end with the end-of-image marker FF D9: it is truncated/,
    );
  });

  it('a JPEG cut inside its headers, after the frame header, is truncated', () => {
    const sof = [0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x10, 0x00, 0x20, 0x01, 0x01, 0x11, 0x00];
    const result = inspectJpeg(new Uint8Array([0xff, 0xd8, ...sof, 0xff, 0xc4, 0x00, 0x20]));
    expect(result.size).toEqual({ width: 32, height: 16 });
    expect(result.problem).toMatch(/ends inside its headers, before the scan/);
  });

  it('a scan with no frame header before it is not a JPEG', () => {
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0x00, 0xff, 0xd9]);
    expect(inspectJpeg(bytes)).toEqual({
      size: undefined,
      problem: 'no JPEG frame header (SOF) before the scan',
    });
  });

  it('a scan header with no data and no EOI after it is truncated', () => {
    const sof = [0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00];
    const sos = [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00];
    expect(inspectJpeg(new Uint8Array([0xff, 0xd8, ...sof, ...sos])).problem).toMatch(/truncated/);
    expect(
      inspectJpeg(new Uint8Array([0xff, 0xd8, ...sof, ...sos, 0x12, 0xff, 0xd9])).problem,
    ).toBeUndefined();
  });

  it('endsWithEndOfImage reads the last two bytes only', () => {
    expect(endsWithEndOfImage(new Uint8Array([0xff, 0xd9]))).toBe(true);
    expect(endsWithEndOfImage(new Uint8Array([0xd9]))).toBe(false);
    expect(endsWithEndOfImage(new Uint8Array([0xff, 0xd9, 0x00]))).toBe(false);
  });
});
