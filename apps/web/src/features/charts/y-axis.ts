import type uPlot from 'uplot';

/** SI prefixes for large magnitudes, biggest first: 2.53e10 bytes reads "25.3G". */
const SI_PREFIXES: readonly (readonly [number, string])[] = [
  [1e15, 'P'],
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];
/** Below this largest magnitude, ticks get exponents ("1.2e-5"): a learning rate's zeros hide its digits. */
const EXPONENT_BELOW = 1e-3;
/** Most decimals a tick label gets; uPlot's splits carry float noise past this. */
const MAX_DECIMALS = 6;
/** Narrowest y axis, CSS pixels (ticks, gap and a short label), as the charts always had. */
export const MIN_Y_AXIS_PX = 56;
/** Width of one label character at uPlot's 12 px axis font, rounded up, CSS pixels. */
const CHAR_PX = 7.5;
/** uPlot's tick length plus the gap between tick and label, CSS pixels. */
const TICK_AND_GAP_PX = 15;

/** Decimals needed to write `value` exactly, float noise removed, at most MAX_DECIMALS. */
function decimalsOf(value: number): number {
  const text = String(Number(value.toPrecision(12)));
  if (text.includes('e')) return MAX_DECIMALS;
  const point = text.indexOf('.');
  return point < 0 ? 0 : Math.min(text.length - point - 1, MAX_DECIMALS);
}

/** The divisor and suffix every label of one axis shares, from its largest tick. */
function axisUnit(largest: number): { scale: number; suffix: string } {
  for (const [scale, suffix] of SI_PREFIXES) {
    if (largest >= scale) return { scale, suffix };
  }
  if (largest > 0 && largest < EXPONENT_BELOW) {
    const exponent = Math.floor(Math.log10(largest));
    return { scale: 10 ** exponent, suffix: `e${exponent}` };
  }
  return { scale: 1, suffix: '' };
}

/**
 * Tick labels for a y axis that fit its width at any magnitude: one SI prefix
 * (or exponent) per axis chosen by its largest tick, and as many decimals as
 * the ticks need to differ ("820M", "840M"; "0.0012", "0.0014"). uPlot's own
 * labels write every digit ("25,300,000,000"), which the axis cut to "00,000".
 */
export function yTickLabels(splits: readonly (number | null)[]): string[] {
  const ticks = splits.filter((tick): tick is number => tick !== null && Number.isFinite(tick));
  const largest = Math.max(0, ...ticks.map(Math.abs));
  const { scale, suffix } = axisUnit(largest);
  const decimals = Math.max(0, ...ticks.map((tick) => decimalsOf(tick / scale)));
  return splits.map((tick) => {
    if (tick === null || !Number.isFinite(tick)) return '';
    if (tick === 0) return '0';
    return `${(tick / scale).toFixed(decimals)}${suffix}`;
  });
}

/**
 * Tick labels for a log axis: each its own prefix, as its ticks span decades
 * ("1k", "10M"); one shared prefix would write the small ones as "0.000001G".
 */
export function logTickLabels(splits: readonly (number | null)[]): string[] {
  return splits.map((tick) => yTickLabels([tick])[0] ?? '');
}

/** Width of a y axis whose longest label is `labels`' longest, never under MIN_Y_AXIS_PX. */
export function yAxisSizePx(labels: readonly (string | null)[] | null): number {
  const longest = Math.max(0, ...(labels ?? []).map((label) => label?.length ?? 0));
  return Math.max(MIN_Y_AXIS_PX, Math.ceil(longest * CHAR_PX + TICK_AND_GAP_PX));
}

/** The y-axis options every chart of values uses: readable labels, an axis as wide as they are. */
export const Y_AXIS_LABELS: Pick<uPlot.Axis, 'values' | 'size'> = {
  values: (u, splits, axisIndex) =>
    u.scales[u.axes[axisIndex]?.scale ?? 'y']?.distr === 3
      ? logTickLabels(splits)
      : yTickLabels(splits),
  size: (_u, values) => yAxisSizePx(values),
};
