import { encodeJpeg } from '@trainwatch/trainer-sdk';
import { decode } from 'jpeg-js';
import { seededRandom } from './random';
import { CLASS_COLOURS, syntheticImage } from './synthetic-images';

/** Mean colour of the pixels brighter than the background. */
function foreground(data: ArrayLike<number>, stride: number): number[] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < data.length; i += stride) {
    if (data[i]! + data[i + 1]! + data[i + 2]! > 250) {
      for (let c = 0; c < 3; c++) sum[c] += data[i + c]!;
      n++;
    }
  }
  return sum.map((s) => s / n);
}

describe('syntheticImage', () => {
  it('draws each class in its own colour, and the colour survives JPEG', () => {
    for (let cls = 0; cls < 10; cls++) {
      const raw = syntheticImage(cls, 32, seededRandom(cls));
      expect(raw).toMatchObject({ width: 32, height: 32, channels: 3 });
      const decoded = decode(encodeJpeg(raw).imageBytes, { useTArray: true });
      const colour = foreground(decoded.data, 4);
      // Nearest class colour is its own.
      const distances = CLASS_COLOURS.map((c) =>
        c.reduce((d, v, i) => d + (v - colour[i]!) ** 2, 0),
      );
      expect(distances.indexOf(Math.min(...distances))).toBe(cls);
    }
  });

  it('gives each class a different shape', () => {
    const masks = Array.from({ length: 10 }, (_, cls) => {
      const { data } = syntheticImage(cls, 32, seededRandom(1));
      return Array.from({ length: 32 * 32 }, (_, p) =>
        data[p * 3]! + data[p * 3 + 1]! + data[p * 3 + 2]! > 250 ? 1 : 0,
      );
    });
    for (let a = 0; a < 10; a++) {
      for (let b = a + 1; b < 10; b++) {
        const differing = masks[a]!.filter((bit, p) => bit !== masks[b]![p]).length;
        expect(differing).toBeGreaterThan(32 * 32 * 0.05);
      }
    }
  });

  it('no two samples of a class are identical', () => {
    const random = seededRandom(3);
    const a = syntheticImage(4, 16, random).data;
    const b = syntheticImage(4, 16, random).data;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});
