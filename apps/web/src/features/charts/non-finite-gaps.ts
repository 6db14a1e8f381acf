import type uPlot from 'uplot';
import { pixelRatio } from './pixel-columns';

/**
 * uPlot breaks a line only at `null`, which typed arrays cannot hold; the
 * series buffers keep non-finite values as NaN instead. This `gaps` hook
 * turns every run of NaN into a gap from the finite point before it to the
 * one after it, so the line is not drawn across a value that was not a
 * number, and the data stays in typed arrays.
 */
export const nanGaps: uPlot.Series.GapsRefiner = (u, seriesIdx, idx0, idx1, nullGaps) => {
  const xs = u.data[0];
  const ys = u.data[seriesIdx];
  let gaps = nullGaps;
  for (let i = idx0; i <= idx1; i++) {
    if (!Number.isNaN(ys[i])) continue;
    const from = i;
    while (i + 1 <= idx1 && Number.isNaN(ys[i + 1])) i++;
    const before = from > 0 ? from - 1 : from;
    const after = i < xs.length - 1 ? i + 1 : i;
    if (gaps === nullGaps) gaps = [...nullGaps];
    gaps.push([
      Math.round(u.valToPos(xs[before], 'x', true)),
      Math.round(u.valToPos(xs[after], 'x', true)),
    ]);
  }
  return gaps;
};

/** Marks every non-finite point with a short red tick at the bottom of the plot. */
export function drawNonFiniteMarks(u: uPlot, seriesIdx: number): void {
  const xs = u.data[0];
  const ys = u.data[seriesIdx];
  const bottom = u.bbox.top + u.bbox.height;
  const ctx = u.ctx;
  let drawing = false;
  for (let i = 0; i < ys.length; i++) {
    if (!Number.isNaN(ys[i])) continue;
    const x = u.valToPos(xs[i], 'x', true);
    if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
    if (!drawing) {
      drawing = true;
      ctx.save();
      ctx.strokeStyle = '#f0716e';
      ctx.lineWidth = 2 * pixelRatio();
      ctx.beginPath();
    }
    ctx.moveTo(x, bottom);
    ctx.lineTo(x, bottom - 8 * pixelRatio());
  }
  if (drawing) {
    ctx.stroke();
    ctx.restore();
  }
}
