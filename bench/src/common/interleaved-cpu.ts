/**
 * Server CPU per acked message of two configurations, measured in alternating
 * windows (A B B A A B B A…) against two servers that stay up the whole time,
 * each fed the same trainers in turn. One window per configuration, minutes
 * apart (what a ramp per configuration gives), cannot tell a 5% difference
 * from what the other processes on a shared 2-core machine did meanwhile;
 * alternating windows meet the same drift on both sides, and the median of
 * several windows ignores a window a neighbour's burst spoiled.
 */
import { waitFor } from '@trainwatch/testing';
import { LoadTrainer, Pacer } from './load-trainer';
import { ProcSampler } from './proc-stats';
import { roundOrder, summarizePairedRounds } from './paired-rounds';
import type { Target } from './targets';

/** One configuration: its server and the trainers (already open) that feed it in its windows. */
export interface InterleavedSide {
  label: string;
  target: Target;
  trainers: readonly LoadTrainer[];
}

/** One measured window. */
export interface CpuWindow {
  side: 0 | 1;
  /** The side's server process only (utime + stime from /proc), percent of one core. */
  cpuPercent: number;
  ackedPerSec: number;
  /** cpuPercent per 1,000 acked msg/s. */
  cpuPerKiloMessages: number;
}

export interface InterleavedResult {
  windows: CpuWindow[];
  /** Median CPU per 1,000 acked msg/s per side. */
  median: [number, number];
  /** Median over rounds of (side 1 / side 0 − 1), each round's two windows next to each other. */
  cost: number;
  /** Lowest and highest per-round cost: how far one round alone could have been from the median. */
  costRange: [number, number];
  /** Largest relative spread (max − min) / median of one side's windows: the noise of one window. */
  windowSpread: number;
}

/** How long the trainers may take to see every sent message acked after a window. */
const SETTLE_TIMEOUT_MS = 15_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Feeds one side's trainers at `rate` for warm-up plus window and measures the window. */
async function measureWindow(
  side: InterleavedSide,
  index: 0 | 1,
  rate: number,
  warmupMs: number,
  windowMs: number,
): Promise<CpuWindow> {
  const sampler = new ProcSampler(side.target.pid).start();
  const pacer = new Pacer(rate);
  const acked = () => side.trainers.reduce((sum, t) => sum + t.acked, 0);
  try {
    pacer.start(side.trainers);
    await sleep(warmupMs);
    const from = performance.now();
    const ackedBefore = acked();
    await sleep(windowMs);
    const seconds = (performance.now() - from) / 1000;
    const ackedPerSec = (acked() - ackedBefore) / seconds;
    const { cpuPercent } = sampler.window(from);
    return {
      side: index,
      cpuPercent,
      ackedPerSec,
      cpuPerKiloMessages: (cpuPercent / Math.max(1, ackedPerSec)) * 1000,
    };
  } finally {
    pacer.stop();
    sampler.stop();
    // The next window's server must not share the machine with this one's backlog.
    await waitFor(() => side.trainers.every((t) => t.sent === t.acked), {
      timeoutMs: SETTLE_TIMEOUT_MS,
      what: `${side.label}: every sent message acked after its window`,
    });
  }
}

/** `rounds` rounds of two windows, A B then B A, and what they say about side 1 against side 0. */
export async function interleavedCpu(
  sides: readonly [InterleavedSide, InterleavedSide],
  options: { rounds: number; rate: number; warmupMs: number; windowMs: number },
): Promise<InterleavedResult> {
  const windows: CpuWindow[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const index of roundOrder(round)) {
      const measured = await measureWindow(
        sides[index],
        index,
        options.rate,
        options.warmupMs,
        options.windowMs,
      );
      console.error(`[interleaved] ${sides[index].label}: ${JSON.stringify(measured)}`);
      windows.push(measured);
    }
  }
  return summarizeInterleaved(windows);
}

/** What windows measured in rounds of two (one per side, consecutive) say about side 1 against side 0. */
export function summarizeInterleaved(windows: readonly CpuWindow[]): InterleavedResult {
  const rounds = summarizePairedRounds(
    windows.map((window) => ({ side: window.side, value: window.cpuPerKiloMessages })),
  );
  return {
    windows: [...windows],
    median: rounds.medianPerSide,
    cost: rounds.median,
    costRange: rounds.range,
    windowSpread: Math.max(...rounds.spreadPerSide),
  };
}
