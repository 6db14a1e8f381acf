import type uPlot from 'uplot';
import { bandFill, noPath } from './band-fill';

/** A chart whose value-to-pixel mapping is x → x × 10 and y → 100 − y (a log scale puts y ≤ 0 nowhere). */
function chart(data: (number | null)[][]): uPlot {
  return {
    data,
    series: [{ scale: 'x' }, {}, { scale: 'y' }, { scale: 'y' }],
    valToPos: (value: number, scale: string) =>
      scale === 'x' ? value * 10 : value <= 0 ? Number.NaN : 100 - value,
  } as unknown as uPlot;
}

describe('bandFill', () => {
  it('fills one polygon along the max column and back along the min, skipping missing points', () => {
    const drawn: string[] = [];
    const moveTo = jest
      .spyOn(Path2D.prototype, 'moveTo')
      .mockImplementation((x, y) => void drawn.push(`M${x},${y}`));
    const lineTo = jest
      .spyOn(Path2D.prototype, 'lineTo')
      .mockImplementation((x, y) => void drawn.push(`L${x},${y}`));
    const closePath = jest
      .spyOn(Path2D.prototype, 'closePath')
      .mockImplementation(() => void drawn.push('Z'));
    const u = chart([
      [1, 2, 3, 4, 5],
      [0, 0, 0, 0, 0],
      // min: another run's step (null), a NaN bucket, a value a log scale cannot place.
      [10, null, 12, Number.NaN, 0],
      [20, 21, 22, 23, 24],
    ]);
    const paths = bandFill(2)(u, 3, 0, 4);
    expect(paths?.stroke).toBeNull();
    expect(paths?.flags).toBe(0);
    expect(drawn).toEqual(['M10,80', 'L30,78', 'L30,88', 'L10,90', 'Z']);
    // Fewer than two points: an empty path.
    drawn.length = 0;
    bandFill(2)(u, 3, 0, 1);
    expect(drawn).toEqual([]);
    expect(noPath(u, 2, 0, 4)).toBeNull();
    moveTo.mockRestore();
    lineTo.mockRestore();
    closePath.mockRestore();
  });
});
