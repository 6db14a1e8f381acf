import type uPlot from 'uplot';

/**
 * A dense band's pixel columns (x, top, width, height, four numbers each),
 * by chart and series: computed when uPlot builds the paths (which it caches
 * until the data or the scale changes), painted by drawBandColumns.
 */
const columnsByChart = new WeakMap<uPlot, Map<number, Float64Array>>();

/**
 * The min/max band of one line as a single filled polygon: along the max
 * column forward, back along the min column. uPlot's own bands build a
 * stroke path for each edge and fill through a clip per band; on the
 * compare view (20 runs a chart) those two paths and the clip per run were
 * a large part of a chart's draw. Points where either edge is missing
 * (another run's step on the shared x axis, a NaN bucket) are skipped, as
 * spanGaps did. Given as the `paths` of the max series; the min series
 * draws nothing (`noPath`) and only carries its data for the y range.
 *
 * Where several points fall in one pixel column (a zoomed window of a long
 * run, or any series with more points than pixels) the band is painted as
 * one rectangle per column instead, from the highest max to the lowest min
 * of its points (drawBandColumns, a `drawSeries` hook); so is a band with a
 * point every pixel or two. Skia fills a
 * polygon at a cost that grows with the edges every pixel row crosses, and
 * a noisy series' band crosses thousands: a 1,211-pixel chart over 4,956
 * such points took 145 ms per redraw as a polygon (45 ms with one vertex
 * per column), where a rectangle per column costs its pixels.
 */
export function bandFill(minColumn: number): uPlot.Series.PathBuilder {
  return (u, maxColumn, idx0, idx1) => {
    const xs = u.data[0];
    const maxs = u.data[maxColumn] as (number | null | undefined)[];
    const mins = u.data[minColumn] as (number | null | undefined)[];
    const xScale = u.series[0]?.scale ?? 'x';
    const yScale = u.series[maxColumn]?.scale ?? 'y';
    /**
     * Per pixel column (x, top, bottom): the x of its first point, the highest top, the lowest
     * bottom. Not dense, each column is one point and this is the polygon's vertices.
     */
    const columns: number[] = [];
    let dense = false;
    for (let i = idx0; i <= idx1; i++) {
      const hi = maxs[i];
      const lo = mins[i];
      if (hi == null || lo == null || !Number.isFinite(hi) || !Number.isFinite(lo)) continue;
      const x = u.valToPos(xs[i] as number, xScale, true);
      const top = u.valToPos(hi, yScale, true);
      const bottom = u.valToPos(lo, yScale, true);
      // A log scale puts values at or below zero nowhere.
      if (!Number.isFinite(x) || !Number.isFinite(top) || !Number.isFinite(bottom)) continue;
      const last = columns.length - 3;
      if (last >= 0 && Math.floor(columns[last] as number) === Math.floor(x)) {
        // Canvas y grows downwards: the highest value has the smallest top.
        dense = true;
        columns[last + 1] = Math.min(columns[last + 1] as number, top);
        columns[last + 2] = Math.max(columns[last + 2] as number, bottom);
      } else {
        columns.push(x, top, bottom);
      }
    }
    const byChart = columnsByChart.get(u) ?? new Map<number, Float64Array>();
    columnsByChart.set(u, byChart);
    // A point every pixel or two (a line fitted to its pixels, fitToPixels) is as costly
    // a polygon as a dense one, and its rectangles look the same.
    if (dense || (columns.length / 3) * 2 >= u.bbox.width) {
      byChart.set(maxColumn, toRectangles(columns));
      return { stroke: null, fill: null, clip: null, band: null, flags: 0 };
    }
    byChart.delete(maxColumn);
    const fill = new Path2D();
    if (columns.length >= 6) {
      fill.moveTo(columns[0] as number, columns[1] as number);
      for (let i = 3; i < columns.length; i += 3)
        fill.lineTo(columns[i] as number, columns[i + 1] as number);
      for (let i = columns.length - 3; i >= 0; i -= 3)
        fill.lineTo(columns[i] as number, columns[i + 2] as number);
      fill.closePath();
    }
    return { stroke: null, fill, clip: null, band: null, flags: 0 };
  };
}

/**
 * Columns (x, top, bottom) as rectangles (x, y, width, height) on whole pixels: each as
 * wide as the gap to the next column, so a missing point is bridged as the
 * polygon bridged it. A column whose min and max meet is as thin as the
 * polygon was there (fillRect covers a fraction of a pixel by its alpha).
 */
function toRectangles(columns: readonly number[]): Float64Array {
  const count = columns.length / 3;
  const rectangles = new Float64Array(count * 4);
  for (let i = 0; i < count; i++) {
    const left = Math.floor(columns[i * 3] as number);
    const top = columns[i * 3 + 1] as number;
    const bottom = columns[i * 3 + 2] as number;
    const next = i + 1 < count ? Math.floor(columns[(i + 1) * 3] as number) : left + 1;
    rectangles.set([left, top, next - left, bottom - top], i * 4);
  }
  return rectangles;
}

/**
 * A `drawSeries` hook: paints the band of series `seriesIndex` as pixel
 * columns when bandFill found it dense, inside the plotting area, with the
 * series' fill.
 */
export function drawBandColumns(u: uPlot, seriesIndex: number): void {
  const rectangles = columnsByChart.get(u)?.get(seriesIndex);
  const series = u.series[seriesIndex];
  if (rectangles === undefined || series === undefined || !series.show) return;
  const fill = typeof series.fill === 'function' ? series.fill(u, seriesIndex) : series.fill;
  if (fill === undefined || fill === null) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();
  ctx.fillStyle = fill;
  for (let i = 0; i < rectangles.length; i += 4) {
    ctx.fillRect(
      rectangles[i] as number,
      rectangles[i + 1] as number,
      rectangles[i + 2] as number,
      rectangles[i + 3] as number,
    );
  }
  ctx.restore();
}

/** A series drawn by another's path (the band's lower edge): no path of its own. */
export const noPath: uPlot.Series.PathBuilder = () => null;
