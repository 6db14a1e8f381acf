import type uPlot from 'uplot';

/**
 * The min/max band of one line as a single filled polygon: along the max
 * column forward, back along the min column. uPlot's own bands build a
 * stroke path for each edge and fill through a clip per band; on the
 * compare view (20 runs a chart) those two paths and the clip per run were
 * a large part of a chart's draw. Points where either edge is missing
 * (another run's step on the shared x axis, a NaN bucket) are skipped, as
 * spanGaps did. Given as the `paths` of the max series; the min series
 * draws nothing (`noPath`) and only carries its data for the y range.
 */
export function bandFill(minColumn: number): uPlot.Series.PathBuilder {
  return (u, maxColumn, idx0, idx1) => {
    const xs = u.data[0];
    const maxs = u.data[maxColumn] as (number | null | undefined)[];
    const mins = u.data[minColumn] as (number | null | undefined)[];
    const xScale = u.series[0]?.scale ?? 'x';
    const yScale = u.series[maxColumn]?.scale ?? 'y';
    const upper: number[] = [];
    const lower: number[] = [];
    for (let i = idx0; i <= idx1; i++) {
      const hi = maxs[i];
      const lo = mins[i];
      if (hi == null || lo == null || !Number.isFinite(hi) || !Number.isFinite(lo)) continue;
      const x = u.valToPos(xs[i] as number, xScale, true);
      const top = u.valToPos(hi, yScale, true);
      const bottom = u.valToPos(lo, yScale, true);
      // A log scale puts values at or below zero nowhere.
      if (!Number.isFinite(x) || !Number.isFinite(top) || !Number.isFinite(bottom)) continue;
      upper.push(x, top);
      lower.push(x, bottom);
    }
    const fill = new Path2D();
    if (upper.length >= 4) {
      fill.moveTo(upper[0] as number, upper[1] as number);
      for (let i = 2; i < upper.length; i += 2)
        fill.lineTo(upper[i] as number, upper[i + 1] as number);
      for (let i = lower.length - 2; i >= 0; i -= 2)
        fill.lineTo(lower[i] as number, lower[i + 1] as number);
      fill.closePath();
    }
    return { stroke: null, fill, clip: null, band: null, flags: 0 };
  };
}

/** A series drawn by another's path (the band's lower edge): no path of its own. */
export const noPath: uPlot.Series.PathBuilder = () => null;
