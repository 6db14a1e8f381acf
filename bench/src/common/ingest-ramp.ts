/**
 * The ingest ramp: trainers added in steps, each at 60 msg/s with 16 images,
 * until acknowledgements fall behind. Shared by the ingest benchmark (product
 * against the relay) and the store benchmark (each store engine against the
 * in-memory server).
 */
import { AckSplit } from './ack-split';
import { jpegSet } from './jpeg-payloads';
import { LoadTrainer, Pacer } from './load-trainer';
import { ProcSampler } from './proc-stats';
import type { ResultTable } from './result';
import { MAX_MIDPOINT_PROBES, nextProbe } from './ramp-refine';
import { SampleBuffer, slope } from './stats';
import { startTarget, type Target, type TargetKind } from './targets';
import { benchMetricNames, encodeImagePart } from './wire';
import { count, mb, num, pct } from './format';

export const RATE = 60;
/**
 * Trainer counts of the 16 × 2 KB ramps (ingest, store, auth). Coarse: the
 * midpoint probes after the first failed step (ramp-refine.ts) find the
 * limit between two of them, in about the time the finer steps took.
 */
export const INGEST_RAMP_STEPS: readonly number[] = [10, 25, 50, 75, 100, 150, 200];
export const IMAGES = 16;
/** A step is sustained when acks arrive at >= this share of the offered rate… */
export const MIN_ACK_SHARE = 0.95;
/**
 * …and the backlog (sent − acked) grows over the window by less than this
 * many seconds' worth of offered traffic (or MIN_LAG_GROWTH messages, for
 * small steps where a few in-flight messages are noise).
 */
export const MAX_LAG_GROWTH_SECONDS = 0.1;
const MIN_LAG_GROWTH = 10;

export interface StepResult {
  trainers: number;
  offeredPerSec: number;
  sentPerSec: number;
  ackedPerSec: number;
  lagGrowthPerSec: number;
  mbPerSec: number;
  cpuPercent: number;
  rssBytes: number;
  benchCpuPercent: number;
  heldBack: number;
  errors: number;
  sustained: boolean;
  /** A midpoint measured after the first unsustained step (ramp-refine.ts). */
  probe?: boolean;
  /** Send → ack latency over the window (ms), when the ramp was asked to record it. */
  ackP50Ms?: number;
  ackP99Ms?: number;
  /**
   * With ack latency, the product's own part of it: arrival → ack sent, from
   * its ack histogram (interpolated in its buckets), and this process's
   * event-loop delay over the window (the trainers' side of every ack).
   */
  serverAckP50Ms?: number;
  serverAckP99Ms?: number;
  benchLoopDelayP99Ms?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function measureStep(
  trainers: LoadTrainer[],
  samplers: readonly ProcSampler[],
  self: ProcSampler,
  messageBytes: number,
  windowMs: number,
): Promise<Omit<StepResult, 'trainers' | 'sustained'>> {
  const totals = () =>
    trainers.reduce((acc, t) => ({ sent: acc.sent + t.sent, acked: acc.acked + t.acked }), {
      sent: 0,
      acked: 0,
    });
  const heldBefore = trainers.reduce((sum, t) => sum + t.heldBack, 0);
  const errorsBefore = trainers.reduce((sum, t) => sum + t.errors, 0);
  const start = performance.now();
  const first = totals();
  const times: number[] = [];
  const lags: number[] = [];
  while (performance.now() - start < windowMs) {
    await sleep(250);
    const now = totals();
    times.push((performance.now() - start) / 1000);
    lags.push(now.sent - now.acked);
  }
  const last = totals();
  const seconds = (performance.now() - start) / 1000;
  // Several targets (replicas) count as one: CPU and RSS summed over their processes.
  const windows = samplers.map((sampler) => sampler.window(start));
  const target = {
    cpuPercent: windows.reduce((sum, w) => sum + w.cpuPercent, 0),
    rssEndBytes: windows.reduce((sum, w) => sum + w.rssEndBytes, 0),
  };
  const bench = self.window(start);
  const ackedPerSec = (last.acked - first.acked) / seconds;
  return {
    offeredPerSec: trainers.length * RATE,
    sentPerSec: (last.sent - first.sent) / seconds,
    ackedPerSec,
    lagGrowthPerSec: slope(times, lags),
    mbPerSec: (ackedPerSec * messageBytes) / 1e6,
    cpuPercent: target.cpuPercent,
    rssBytes: target.rssEndBytes,
    benchCpuPercent: bench.cpuPercent,
    heldBack: trainers.reduce((sum, t) => sum + t.heldBack, 0) - heldBefore,
    errors: trainers.reduce((sum, t) => sum + t.errors, 0) - errorsBefore,
  };
}

/** Samples of send → ack latency kept per ramp step (reservoir beyond it). */
export const MAX_ACK_SAMPLES = 100_000;

/** What a ramp runs against and how. */
export interface RampOptions {
  kind: TargetKind;
  imageSize: number;
  metricCount: number;
  steps: readonly number[];
  warmupMs: number;
  windowMs: number;
  notes: string[];
  /** Server environment (product only): e.g. STORE_ENGINE and DATA_DIR. */
  env?: Record<string, string>;
  /** Label in logs and notes (default: the target kind). */
  label?: string;
  /** Record send → ack latency per step. */
  ackLatency?: boolean;
  /**
   * API keys for the trainers (a server with AUTH=required), made once the
   * target runs: `count` is the largest step; trainer i presents key i.
   */
  apiKeys?: (target: Target, count: number) => Promise<string[]>;
  /** The loss of each batch (default: a smooth decay). */
  lossOf?: (batchIdx: number) => number;
  /** Started with the target: told of each trainer's session, stopped before the target. */
  companion?: (target: Target) => RampCompanion;
  /**
   * Starts the targets instead of one fresh `kind` target (e.g. several replicas): trainer i
   * streams to target i mod n, CPU and RSS are summed over them, and all are stopped at the end.
   * API keys and the companion use the first.
   */
  startTargets?: () => Promise<Target[]>;
}

/** Something that runs beside the trainers (e.g. a dashboard acknowledging alerts). */
export interface RampCompanion {
  add(sessionId: string): void;
  stop(): Promise<void>;
}

/**
 * Ramps trainers against a fresh target until a step is not sustained, then
 * (ramps of several steps) measures up to MAX_MIDPOINT_PROBES midpoints
 * between the most sustained and the fewest failed, each against a fresh
 * target brought straight to that count (a failed step leaves thousands of
 * unacknowledged messages per trainer that would take longer to drain than
 * to start again). One result per count measured, by trainer count.
 */
export async function ramp(options: RampOptions): Promise<StepResult[]> {
  const results = await rampSteps(options, '', false);
  // A one-step ramp measures a fixed load (e.g. ack latency at 50 trainers): no probes.
  const probes = options.steps.length > 1 ? MAX_MIDPOINT_PROBES : 0;
  let sustained = maxSustained(results)?.trainers ?? 0;
  let failed = results.find((step) => !step.sustained)?.trainers;
  for (let probe = 1; failed !== undefined && probe <= probes; probe++) {
    const size = nextProbe(sustained, failed);
    if (size === undefined) break;
    const [result] = await rampSteps({ ...options, steps: [size] }, `p${probe}-`, true);
    if (result === undefined) break;
    results.push(result);
    if (result.sustained) sustained = size;
    else failed = size;
  }
  // By trainer count, midpoints among the steps: readers take the first unsustained as the limit.
  return results.sort((a, b) => a.trainers - b.trainers);
}

/** The steps in order against a fresh target, until one is not sustained; `idPrefix` keeps each run's session ids apart. */
async function rampSteps(
  options: RampOptions,
  idPrefix: string,
  probe: boolean,
): Promise<StepResult[]> {
  const { kind, imageSize, metricCount, steps, warmupMs, windowMs, notes } = options;
  const label = options.label ?? kind;
  const imagePart = encodeImagePart(jpegSet(imageSize, IMAGES));
  const metricNames = benchMetricNames(metricCount);
  // Each named value costs its name plus ~14 bytes of framing and the double.
  const messageBytes =
    imagePart.length + 64 + metricNames.reduce((sum, name) => sum + name.length + 14, 0);
  const targets: Target[] = options.startTargets
    ? await options.startTargets()
    : [await startTarget(kind, options.env)];
  const target = targets[0]!;
  const companion = options.companion?.(target);
  const samplers = targets.map((t) => new ProcSampler(t.pid).start());
  const self = new ProcSampler(process.pid).start();
  const keys = (await options.apiKeys?.(target, Math.max(...steps))) ?? [];
  const pacer = new Pacer(RATE);
  const trainers: LoadTrainer[] = [];
  const results: StepResult[] = [];
  pacer.start([]);
  const measureAt = async (size: number): Promise<StepResult> => {
    await sleep(warmupMs);
    const latency = options.ackLatency ? new SampleBuffer(MAX_ACK_SAMPLES) : undefined;
    const split = latency === undefined ? undefined : new AckSplit(target);
    await split?.start();
    for (const trainer of trainers) trainer.ackLatency = latency;
    const step = await measureStep(trainers, samplers, self, messageBytes, windowMs);
    for (const trainer of trainers) trainer.ackLatency = undefined;
    if (latency !== undefined) {
      const summary = latency.summary();
      step.ackP50Ms = summary.p50;
      step.ackP99Ms = summary.p99;
    }
    if (split !== undefined) Object.assign(step, await split.stop());
    const sustained =
      step.ackedPerSec >= MIN_ACK_SHARE * step.offeredPerSec &&
      step.lagGrowthPerSec * (windowMs / 1000) <
        Math.max(MAX_LAG_GROWTH_SECONDS * step.offeredPerSec, MIN_LAG_GROWTH) &&
      step.heldBack === 0 &&
      step.errors === 0;
    const result: StepResult = { trainers: size, ...step, sustained, ...(probe ? { probe } : {}) };
    console.error(
      `[ramp] ${label} ${imageSize} B + ${metricCount} metrics × ${size}${probe ? ' (midpoint)' : ''}: ${JSON.stringify(result)}`,
    );
    const failed = trainers.find((t) => t.firstError !== undefined);
    if (failed)
      notes.push(
        `${label}, ${imageSize}-byte images: first error seen by a trainer: ${failed.firstError}`,
      );
    return result;
  };
  try {
    for (const size of steps) {
      while (trainers.length < size) {
        const trainer = new LoadTrainer(
          targets[trainers.length % targets.length]!,
          `ingest-${imageSize}-${metricCount}-${idPrefix}${trainers.length}`,
          imagePart,
          0,
          metricNames,
          options.lossOf,
        );
        trainer.apiKey = keys[trainers.length];
        await trainer.open();
        companion?.add(trainer.sessionId);
        trainers.push(trainer);
        pacer.add(trainer);
      }
      const result = await measureAt(size);
      results.push(result);
      if (!result.sustained) break;
    }
  } finally {
    pacer.stop();
    await companion?.stop();
    await Promise.all(trainers.map((t) => t.close()));
    for (const sampler of samplers) sampler.stop();
    self.stop();
    await Promise.all(targets.map((t) => t.stop()));
  }
  return results;
}

/** The step with the most trainers sustained. */
export function maxSustained(steps: readonly StepResult[]): StepResult | undefined {
  let best: StepResult | undefined;
  for (const step of steps)
    if (step.sustained && step.trainers > (best?.trainers ?? -1)) best = step;
  return best;
}

export function stepTable(caption: string, steps: readonly StepResult[]): ResultTable {
  // The ack latency column only where the ramp recorded it.
  const withAcks = steps.some((s) => s.ackP99Ms !== undefined);
  const table: ResultTable = {
    caption,
    columns: [
      'trainers',
      'offered msg/s',
      'sent msg/s',
      'acked msg/s',
      'ack lag growth /s',
      'MB/s',
      'target CPU',
      'target RSS',
      'bench CPU',
      'sustained',
    ],
    rows: steps.map((s) => [
      s.probe === true ? `${s.trainers} (midpoint)` : String(s.trainers),
      count(s.offeredPerSec),
      count(s.sentPerSec),
      count(s.ackedPerSec),
      num(s.lagGrowthPerSec, 0),
      num(s.mbPerSec, 1),
      pct(s.cpuPercent),
      mb(s.rssBytes),
      pct(s.benchCpuPercent),
      s.sustained
        ? 'yes'
        : `no${s.heldBack > 0 ? ' (held back)' : ''}${s.errors > 0 ? ` (${s.errors} errors)` : ''}`,
    ]),
  };
  if (!withAcks) return table;
  return {
    ...table,
    columns: [...table.columns, 'ack p50 / p99 ms'],
    rows: table.rows.map((row, index) => {
      const step = steps[index] as StepResult;
      return [
        ...row,
        `${num(step.ackP50Ms ?? Number.NaN, 1)} / ${num(step.ackP99Ms ?? Number.NaN, 1)}`,
      ];
    }),
  };
}
