import type { RawImage } from '@trainwatch/trainer-sdk';
import type { Random } from './random';

/** A colour per class, far apart in hue so classes are told apart at a glance. */
export const CLASS_COLOURS: ReadonlyArray<readonly [number, number, number]> = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 190],
];

type Shape = (u: number, v: number) => boolean;

/** A shape per class, in coordinates centred on the image (-1..1). */
const SHAPES: Shape[] = [
  (u, v) => u * u + v * v < 0.45, // disc
  (u, v) => Math.abs(u) < 0.6 && Math.abs(v) < 0.6, // square
  (u, v) => v > -0.6 && v < 0.6 && Math.abs(u) < (0.6 - v) / 2, // triangle
  (u, v) => Math.abs(u) < 0.2 || Math.abs(v) < 0.2, // cross
  (u, v) => {
    const r = u * u + v * v;
    return r > 0.2 && r < 0.5;
  }, // ring
  (u, v) => Math.abs(u) + Math.abs(v) < 0.75, // diamond
  (u, v) => Math.abs(v) < 0.6 && Math.floor((u + 1) * 3) % 2 === 0, // vertical stripes
  (u, v) => Math.abs(u) < 0.6 && Math.floor((v + 1) * 3) % 2 === 0, // horizontal stripes
  (u, v) => Math.abs(u - v) < 0.25 || Math.abs(u + v) < 0.25, // X
  (u, v) => u < 0 !== v < 0, // checker quadrants
];

/**
 * A size x size RGB image of class `classIndex`: the class's shape in the
 * class's colour on a noisy dark background, jittered in place and brightness
 * so no two samples are identical.
 */
export function syntheticImage(classIndex: number, size: number, random: Random): RawImage {
  const colour = CLASS_COLOURS[classIndex % CLASS_COLOURS.length]!;
  const shape = SHAPES[classIndex % SHAPES.length]!;
  // Clamped, so noise pushing a channel past 0 or 255 saturates instead of wrapping.
  const data = new Uint8ClampedArray(size * size * 3);
  const dx = (random.next() - 0.5) * 0.3;
  const dy = (random.next() - 0.5) * 0.3;
  const gain = 0.8 + random.next() * 0.3;
  for (let y = 0; y < size; y++) {
    const v = ((y + 0.5) / size) * 2 - 1 - dy;
    for (let x = 0; x < size; x++) {
      const u = ((x + 0.5) / size) * 2 - 1 - dx;
      const o = (y * size + x) * 3;
      const noise = random.next() * 40;
      if (shape(u, v)) {
        for (let c = 0; c < 3; c++) data[o + c] = colour[c]! * gain + noise - 20;
      } else {
        data[o] = data[o + 1] = data[o + 2] = 20 + noise;
      }
    }
  }
  return { width: size, height: size, channels: 3, data };
}
