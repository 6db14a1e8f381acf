import type { StepClock } from '../series/store/step-clock';

/** What a page's charts are drawn against: one control per page. */
export type XAxisKind = 'step' | 'wall' | 'relative' | 'epoch';

export const X_AXES: readonly { kind: XAxisKind; label: string }[] = [
  { kind: 'step', label: 'Step' },
  { kind: 'wall', label: 'Wall time' },
  { kind: 'relative', label: 'Relative time' },
  { kind: 'epoch', label: 'Epoch' },
];

export function isXAxisKind(value: string): value is XAxisKind {
  return X_AXES.some((axis) => axis.kind === value);
}

/** What a line's own x values mean, and the run's clock to turn them into time. */
export interface LineTimeline {
  /** Per-epoch series: x are epochs (0-based); otherwise global steps. */
  byEpoch: boolean;
  /** Batches per epoch of the run; 0 when unknown. */
  batchesPerEpoch: number;
  /** When each step happened; without one, time axes fall back to steps. */
  clock?: StepClock;
}

/** The global step a line's x stands for; an epoch counts at its end. */
export function stepOf(line: LineTimeline, x: number): number {
  if (!line.byEpoch) return x;
  return line.batchesPerEpoch > 0 ? (x + 1) * line.batchesPerEpoch : x + 1;
}

function hasClock(line: LineTimeline): line is LineTimeline & { clock: StepClock } {
  return line.clock !== undefined && line.clock.length > 0;
}

/**
 * A line's x on the page's axis: steps; Unix seconds (uPlot's time scale);
 * seconds since the run's first step; or epochs (fractional for steps, an
 * epoch's series point at the epoch's end, counted from 1).
 */
export function toAxisX(axis: XAxisKind, line: LineTimeline, x: number): number {
  if (axis === 'epoch') {
    if (line.byEpoch) return x + 1;
    return line.batchesPerEpoch > 0 ? x / line.batchesPerEpoch : x;
  }
  const step = stepOf(line, x);
  if (axis === 'step' || !hasClock(line)) return step;
  const time = line.clock.timeAt(step);
  return axis === 'wall' ? time / 1000 : (time - line.clock.startMs) / 1000;
}

/** The global step at axis value `value` (inverse of toAxisX for step lines). */
export function stepAtAxisX(axis: XAxisKind, line: LineTimeline, value: number): number {
  if (axis === 'epoch') return line.batchesPerEpoch > 0 ? value * line.batchesPerEpoch : value;
  if (axis === 'step' || !hasClock(line)) return value;
  const time = axis === 'wall' ? value * 1000 : value * 1000 + line.clock.startMs;
  return line.clock.stepAt(time);
}

/** Whether uPlot should format the axis as dates. */
export const isTimeAxis = (axis: XAxisKind, line: LineTimeline | undefined): boolean =>
  axis === 'wall' && line !== undefined && hasClock(line);

/** Axis title. */
export function axisLabel(axis: XAxisKind): string {
  return axis === 'wall' ? 'wall time' : axis === 'relative' ? 'seconds since start' : axis;
}
