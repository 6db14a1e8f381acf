/**
 * What rounds of two windows (one without a change, one with it, next to each
 * other in time, against the same process) say about the change: the median
 * over rounds of with / without − 1. One window per configuration on a fresh
 * process each, minutes apart, moves by more than a 10% target between
 * windows on a shared 2-core machine; paired windows meet the same drift on
 * both sides, and the median ignores a round a neighbour's burst spoiled.
 * interleaved-cpu.ts does the same for CPU per message on two servers.
 */
import { percentile } from './stats';

/** One measured window: which side (0 without the change, 1 with it) and its figure (lower is better). */
export interface PairedWindow {
  side: 0 | 1;
  value: number;
}

export interface PairedRounds {
  /** Per round, side 1 / side 0 − 1, in round order. */
  ratios: number[];
  /** Median of `ratios`: the verdict. */
  median: number;
  /** Lowest and highest per-round ratio: how far one round alone could have been from the median. */
  range: [number, number];
  /** Median figure per side. */
  medianPerSide: [number, number];
  /** (max − min) / median of side 0's windows: how much one window moves with nothing changed. */
  baselineSpread: number;
  /** (max − min) / median of each side's windows. */
  spreadPerSide: [number, number];
}

const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

/** The order of round `round`'s two windows: A B, then B A, so neither side always goes first. */
export function roundOrder(round: number): [0 | 1, 0 | 1] {
  return roundSequence<0 | 1>([0, 1], round) as [0 | 1, 0 | 1];
}

/**
 * The order of round `round`'s measurements of several configurations: as
 * given, then reversed (A B C, C B A, ...), so drift of the machine over the
 * rounds falls on each of them alike rather than on whichever goes last.
 */
export function roundSequence<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

/** Summarizes windows measured in rounds of two consecutive windows, one of each side. */
export function summarizePairedRounds(windows: readonly PairedWindow[]): PairedRounds {
  if (windows.length % 2 !== 0)
    throw new Error(`${windows.length} windows: rounds are two windows each`);
  const ratios: number[] = [];
  for (let first = 0; first + 1 < windows.length; first += 2) {
    const pair = [windows[first]!, windows[first + 1]!];
    const off = pair.find((w) => w.side === 0);
    const on = pair.find((w) => w.side === 1);
    if (off === undefined || on === undefined)
      throw new Error(`windows ${first} and ${first + 1} are not one of each side`);
    if (!(off.value > 0)) throw new Error(`window ${windows.indexOf(off)} measured ${off.value}`);
    ratios.push(on.value / off.value - 1);
  }
  if (ratios.length === 0) throw new Error('no complete round of two windows to compare');
  const side = (s: 0 | 1) => windows.filter((w) => w.side === s).map((w) => w.value);
  const spread = (values: number[]) => (Math.max(...values) - Math.min(...values)) / median(values);
  const spreadPerSide: [number, number] = [spread(side(0)), spread(side(1))];
  return {
    ratios,
    median: median(ratios),
    range: [Math.min(...ratios), Math.max(...ratios)],
    medianPerSide: [median(side(0)), median(side(1))],
    baselineSpread: spreadPerSide[0],
    spreadPerSide,
  };
}
