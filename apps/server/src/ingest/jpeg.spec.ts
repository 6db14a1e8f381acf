import { encode } from 'jpeg-js';
import { hasJpegMagic, readJpegSize } from './jpeg';

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
