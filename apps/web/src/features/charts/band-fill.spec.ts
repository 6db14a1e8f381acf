import type uPlot from 'uplot';
import { bandFill, drawBandColumns, noPath } from './band-fill';

/** A chart whose value-to-pixel mapping is x → x × 10 and y → 100 − y (a log scale puts y ≤ 0 nowhere). */
function chart(data: (number | null)[][]): uPlot {
  return {
    data,
    series: [{ scale: 'x' }, {}, { scale: 'y' }, { scale: 'y' }],
    bbox: { left: 0, top: 0, width: 500, height: 100 },
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

  it('paints a band with several points a pixel column as one rectangle per column', () => {
    const painted: string[] = [];
    const ctx = {
      save: () => painted.push('save'),
      restore: () => painted.push('restore'),
      beginPath: () => undefined,
      rect: (x: number, y: number, w: number, h: number) =>
        painted.push(`clip ${x},${y},${w},${h}`),
      clip: () => undefined,
      fillRect: (x: number, y: number, w: number, h: number) =>
        painted.push(`${String(ctx.fillStyle)} ${x},${y},${w},${h}`),
      fillStyle: '' as unknown,
    };
    const u = Object.assign(
      chart([
        // x → x × 10: steps 1.00-1.04 share pixel column 10, 2.00-2.02 column 20; 4 is alone.
        [1, 1.01, 1.02, 1.04, 2, 2.02, 4],
        [0, 0, 0, 0, 0, 0, 0],
        [10, 5, 12, null, 30, 31, 40],
        [20, 25, 22, 90, 50, 60, 70],
      ]),
      { ctx, bbox: { left: 0, top: 0, width: 500, height: 100 } },
    );
    (u.series as unknown[])[3] = { scale: 'y', show: true, fill: 'band-colour' };
    const paths = bandFill(2)(u, 3, 0, 6);
    expect(paths?.fill).toBeNull();
    drawBandColumns(u, 3);
    // Column 10: max 25 (the 90 has no min), min 5, as wide as the gap to column 20 (bridged as
    // the polygon bridged it); column 20: max 60, min 30, up to column 40; column 40 a pixel wide.
    expect(painted).toEqual([
      'save',
      'clip 0,0,500,100',
      'band-colour 10,75,10,20',
      'band-colour 20,40,20,30',
      'band-colour 40,30,1,30',
      'restore',
    ]);
    // The same chart scrolled to its sparse part: a polygon again, and no columns painted.
    painted.length = 0;
    expect(bandFill(2)(u, 3, 5, 6)?.fill).toBeInstanceOf(Path2D);
    drawBandColumns(u, 3);
    expect(painted).toEqual([]);
    // Another series, or a hidden one, paints nothing.
    bandFill(2)(u, 3, 0, 6);
    drawBandColumns(u, 2);
    (u.series as { show: boolean }[])[3]!.show = false;
    drawBandColumns(u, 3);
    expect(painted).toEqual([]);
  });

  it('paints a band with a point every pixel or two as rectangles too', () => {
    const painted: string[] = [];
    const ctx = {
      save: () => undefined,
      restore: () => undefined,
      beginPath: () => undefined,
      rect: () => undefined,
      clip: () => undefined,
      fillRect: (x: number, y: number, w: number, h: number) => painted.push(`${x},${y},${w},${h}`),
      fillStyle: '' as unknown,
    };
    // Three points 10 pixels apart on a plot 60 pixels wide: one every 20 pixels, a polygon.
    const sparse = Object.assign(
      chart([
        [1, 2, 3],
        [0, 0, 0],
        [10, 11, 12],
        [20, 21, 22],
      ]),
      {
        ctx,
        bbox: { left: 0, top: 0, width: 60, height: 100 },
      },
    );
    (sparse.series as unknown[])[3] = { scale: 'y', show: true, fill: 'band' };
    expect(bandFill(2)(sparse, 3, 0, 2)?.fill).toBeInstanceOf(Path2D);
    // The same points counted against a plot 6 pixels wide: one every two pixels, rectangles.
    const fitted = Object.assign(sparse, { bbox: { left: 0, top: 0, width: 6, height: 100 } });
    expect(bandFill(2)(fitted, 3, 0, 2)?.fill).toBeNull();
    drawBandColumns(fitted, 3);
    expect(painted).toEqual(['10,80,10,10', '20,79,10,10', '30,78,1,10']);
  });
});
