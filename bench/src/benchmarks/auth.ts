/**
 * The cost of auth: the ingest ramp (2 KB images, 60 msg/s per trainer)
 * against the product with AUTH=off, then with AUTH=required and a trainer
 * per API key, in the same run on the same build. Authorization happens when
 * a call opens; per message there is only the per-key token bucket.
 */
import { makeApiKeys, BENCH_ADMIN_TOKEN } from '../common/bench-keys';
import {
  interleavedCpu,
  summarizeInterleaved,
  type InterleavedResult,
} from '../common/interleaved-cpu';
import { jpegSet } from '../common/jpeg-payloads';
import { LoadTrainer } from '../common/load-trainer';
import { startProduct, type Target } from '../common/targets';
import { encodeImagePart } from '../common/wire';
import {
  INGEST_RAMP_STEPS,
  RATE,
  maxSustained,
  ramp,
  stepTable,
  type StepResult,
} from '../common/ingest-ramp';
import { runBench, type TargetVerdict } from '../common/result';
import { ratio } from '../common/stats';
import { count, num, pct, times } from '../common/format';

/**
 * Trainers in every window of the CPU comparison: well inside what both
 * configurations sustain, so each window measures work, not a backlog.
 */
const CPU_TRAINERS = 20;
/**
 * Server pairs (one AUTH=off, one AUTH=required) started one after the other
 * for the CPU comparison, each measured for CPU_ROUNDS_PER_PAIR rounds. One
 * process can stay a few percent dearer than another of the same build for
 * its whole life (its heap layout, what its JIT chose); with one pair that
 * bias is the verdict, with several it is one voice among the rounds.
 */
const CPU_PAIRS = 4;
/** A/B rounds per pair (two windows each, A B then B A); the median over every pair's rounds is the verdict. */
const CPU_ROUNDS_PER_PAIR = 3;

/** What the CPU comparison measured: every pair's windows, summarized together. */
interface CpuComparison extends InterleavedResult {
  /** Per pair, the windows it measured (in order). */
  pairs: InterleavedResult['windows'][];
}

/**
 * Two servers of the same build, AUTH=off and AUTH=required, both up for the
 * pair's rounds; `trainers` trainers open on each (with one API key each on
 * the second), fed in alternating windows.
 */
async function comparePair(
  pair: number,
  trainers: number,
  rounds: number,
  warmupMs: number,
  windowMs: number,
): Promise<InterleavedResult> {
  const imagePart = encodeImagePart(jpegSet(IMAGE_SIZE, 16));
  const targets: Target[] = [];
  const opened: LoadTrainer[] = [];
  try {
    // Which server starts first alternates between pairs.
    const startOff = () => startProduct({ AUTH: 'off' });
    const startOn = () => startProduct({ AUTH: 'required', ADMIN_TOKEN: BENCH_ADMIN_TOKEN });
    const first = await (pair % 2 === 0 ? startOff() : startOn());
    targets.push(first);
    const second = await (pair % 2 === 0 ? startOn() : startOff());
    targets.push(second);
    const [off, on] = pair % 2 === 0 ? [first, second] : [second, first];
    const keys = await makeApiKeys(on.httpUrl ?? '', trainers);
    const open = async (target: Target, label: string, key?: (i: number) => string) => {
      const side: LoadTrainer[] = [];
      for (let i = 0; i < trainers; i++) {
        const trainer = new LoadTrainer(target, `auth-cpu-${pair}-${label}-${i}`, imagePart);
        trainer.apiKey = key?.(i);
        await trainer.open();
        opened.push(trainer);
        side.push(trainer);
      }
      return side;
    };
    const offTrainers = await open(off, 'off');
    const onTrainers = await open(on, 'on', (i) => keys[i]!);
    return await interleavedCpu(
      [
        { label: 'AUTH=off', target: off, trainers: offTrainers },
        { label: 'AUTH=required', target: on, trainers: onTrainers },
      ],
      { rounds, rate: RATE, warmupMs, windowMs },
    );
  } finally {
    await Promise.all(opened.map((t) => t.close()));
    await Promise.all(targets.map((t) => t.stop()));
  }
}

/** `pairs` server pairs in turn, `rounds` rounds each; the verdict is the median over all rounds. */
async function compareCpu(
  trainers: number,
  pairs: number,
  rounds: number,
  warmupMs: number,
  windowMs: number,
): Promise<CpuComparison> {
  const measured: InterleavedResult['windows'][] = [];
  for (let pair = 0; pair < pairs; pair++) {
    measured.push((await comparePair(pair, trainers, rounds, warmupMs, windowMs)).windows);
  }
  return { ...summarizeInterleaved(measured.flat()), pairs: measured };
}

/** The most auth may cost, as a share of ingest (the target). */
const MAX_COST = 0.05;
const IMAGE_SIZE = 2048;

/** Target CPU (percent of one core) per 1,000 acked msg/s. */
const signed = (share: number) => `${share >= 0 ? '+' : ''}${num(share * 100, 1)}%`;
const cpuPerKiloMessages = (step: StepResult) => (step.cpuPercent / step.ackedPerSec) * 1000;

runBench(
  'auth',
  'Auth: ingest with AUTH=required and API-key trainers against AUTH=off',
  async ({ quick }) => {
    const warmupMs = quick ? 1000 : 3000;
    const windowMs = quick ? 2000 : 8000;
    const steps = quick ? [2, 5] : INGEST_RAMP_STEPS;
    const notes: string[] = [];
    const common = {
      kind: 'product' as const,
      imageSize: IMAGE_SIZE,
      metricCount: 0,
      steps,
      warmupMs,
      windowMs,
      notes,
    };
    // BENCH_AUTH_RAMPS=0: only the CPU comparison (a short targeted run while profiling).
    const withRamps = process.env['BENCH_AUTH_RAMPS'] !== '0';
    const off = !withRamps
      ? []
      : await ramp({ ...common, label: 'AUTH=off', env: { AUTH: 'off' } });
    const on = !withRamps
      ? []
      : await ramp({
          ...common,
          label: 'AUTH=required',
          env: { AUTH: 'required', ADMIN_TOKEN: BENCH_ADMIN_TOKEN },
          apiKeys: (target, keys) => makeApiKeys(target.httpUrl ?? '', keys),
        });
    const cpuTrainers = quick ? 3 : CPU_TRAINERS;
    const cpuPairs = quick ? 1 : CPU_PAIRS;
    const cpuRounds = cpuPairs * CPU_ROUNDS_PER_PAIR;
    const cpu = await compareCpu(
      cpuTrainers,
      cpuPairs,
      CPU_ROUNDS_PER_PAIR,
      quick ? 1000 : 2000,
      quick ? 2000 : 6000,
    );
    const best = { off: maxSustained(off), on: maxSustained(on) };
    const paired = off.flatMap((offStep) => {
      const onStep = on.find((step) => step.trainers === offStep.trainers);
      return onStep === undefined ? [] : [{ off: offStep, on: onStep }];
    });
    notes.push(
      `What one A/B window can tell: CPU per acked message moved by up to ${pct(cpu.windowSpread * 100)} ` +
        `between windows of the same server, and one round's on/off ranged from ${signed(cpu.costRange[0])} ` +
        `to ${signed(cpu.costRange[1])}; the verdict is the median of ${cpuRounds} rounds.`,
    );
    // The ramps' heaviest step both sustained: one window each, minutes apart (shown, not judged).
    const heaviest = paired.filter((pair) => pair.off.sustained && pair.on.sustained).at(-1);
    if (heaviest !== undefined) {
      notes.push(
        `The ramps' own figure at ${heaviest.off.trainers} trainers (one window each, minutes apart): ` +
          `${signed(cpuPerKiloMessages(heaviest.on) / cpuPerKiloMessages(heaviest.off) - 1)} CPU per acked message. ` +
          'One window of each, minutes apart, cannot tell 5% apart from the machine’s drift (above).',
      );
    }
    const throughputShare = ratio(best.on?.trainers ?? 0, best.off?.trainers ?? 0);
    const targets: TargetVerdict[] = [
      {
        target: `Auth costs ≤ ${MAX_COST * 100}% of ingest throughput (most trainers sustained)`,
        measured: `${best.on?.trainers ?? 0} trainers with auth vs ${best.off?.trainers ?? 0} without (${times(throughputShare)})`,
        met: quick || !withRamps ? null : throughputShare >= 1 - MAX_COST,
        ...(quick ? { why: 'a quick run stops at 5 trainers: both sustain it' } : {}),
        ...(!withRamps ? { why: 'BENCH_AUTH_RAMPS=0: the ramps were not run' } : {}),
      },
      {
        target: `Auth costs ≤ ${MAX_COST * 100}% server CPU per acked message`,
        measured:
          `${signed(cpu.cost)} (median of ${cpuRounds} A/B rounds, ${cpuPairs} server pairs, at ` +
          `${cpuTrainers} trainers; rounds ${signed(cpu.costRange[0])} to ${signed(cpu.costRange[1])})`,
        met: quick ? null : cpu.cost <= MAX_COST,
        ...(quick
          ? { why: 'a quick run is too short and too light for a CPU share this small' }
          : {}),
      },
    ];
    return {
      method:
        `The ingest ramp (trainers added in steps, each ${RATE} batches/s of 16 × ${IMAGE_SIZE / 1024} KB JPEGs; a step ` +
        'is sustained when acks keep up, see the ingest benchmark) runs twice against fresh servers of the same ' +
        'build: AUTH=off, then AUTH=required with the first admin set up through SetUpFirstAdmin and one API key ' +
        'per trainer made through AdminService.CreateApiKey (default per-key limits). Every trainer presents ' +
        '`authorization: Bearer <key>` on RegisterTrainingSession and StreamMetrics. CPU is the server ' +
        "process's, percent of one core; the load generator shares the same 2 cores. The CPU verdict comes " +
        `from a separate A/B comparison: ${cpuPairs} pairs of servers of the same build (AUTH=off, ` +
        `AUTH=required) started in turn, the two of a pair up at once with ${cpuTrainers} trainers open on ` +
        `each, fed in alternating windows (${CPU_ROUNDS_PER_PAIR} rounds per pair, A B then B A; each window ` +
        'a warm-up, then the measured seconds, then a wait until every message is acked), CPU from /proc of ' +
        'the fed server only; the cost is the median over every round of on/off − 1. Several pairs, because ' +
        'one process can stay a few percent dearer than another of the same build for its whole life.',
      tables: [
        {
          caption: 'Same load, auth off and on: acked msg/s and server CPU per 1,000 acked msg/s',
          columns: [
            'trainers',
            'acked msg/s off',
            'acked msg/s on',
            'CPU off',
            'CPU on',
            'CPU per 1k msg/s off',
            'CPU per 1k msg/s on',
            'auth CPU cost',
            'sustained off / on',
          ],
          rows: paired.map(({ off: o, on: a }) => [
            String(o.trainers),
            count(o.ackedPerSec),
            count(a.ackedPerSec),
            pct(o.cpuPercent),
            pct(a.cpuPercent),
            num(cpuPerKiloMessages(o), 1),
            num(cpuPerKiloMessages(a), 1),
            `${num((cpuPerKiloMessages(a) / cpuPerKiloMessages(o) - 1) * 100, 1)}%`,
            `${o.sustained ? 'yes' : 'no'} / ${a.sustained ? 'yes' : 'no'}`,
          ]),
        },
        {
          caption: `CPU per 1,000 acked msg/s in alternating windows, ${cpuTrainers} trainers (median; each window in order, pairs apart)`,
          columns: ['server', 'median', 'windows'],
          rows: ([0, 1] as const).map((side) => [
            side === 0 ? 'AUTH=off' : 'AUTH=required',
            num(cpu.median[side], 1),
            cpu.pairs
              .map((windows) =>
                windows
                  .filter((w) => w.side === side)
                  .map((w) => num(w.cpuPerKiloMessages, 1))
                  .join(', '),
              )
              .join(' | '),
          ]),
        },
        stepTable('AUTH=off', off),
        stepTable('AUTH=required, one API key per trainer', on),
      ],
      targets,
      notes,
    };
  },
);
