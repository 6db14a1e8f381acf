/**
 * The cost of auth: the ingest ramp (2 KB images, 60 msg/s per trainer)
 * against the product with AUTH=off, then with AUTH=required and a trainer
 * per API key, in the same run on the same build. Authorization happens when
 * a call opens; per message there is only the per-key token bucket.
 */
import { makeApiKeys, BENCH_ADMIN_TOKEN } from '../common/bench-keys';
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

/** The most auth may cost, as a share of ingest (the target). */
const MAX_COST = 0.05;
const IMAGE_SIZE = 2048;

/** Target CPU (percent of one core) per 1,000 acked msg/s. */
const cpuPerKiloMessages = (step: StepResult) => (step.cpuPercent / step.ackedPerSec) * 1000;

runBench(
  'auth',
  'Auth: ingest with AUTH=required and API-key trainers against AUTH=off',
  async ({ quick }) => {
    const warmupMs = quick ? 1000 : 3000;
    const windowMs = quick ? 2000 : 8000;
    const steps = quick ? [2, 5] : INGEST_RAMP_STEPS;
    const notes: string[] = [];
    const common = { kind: 'product' as const, imageSize: IMAGE_SIZE, metricCount: 0, steps };
    const off = await ramp({
      ...common,
      warmupMs,
      windowMs,
      notes,
      label: 'AUTH=off',
      env: { AUTH: 'off' },
    });
    const on = await ramp({
      ...common,
      warmupMs,
      windowMs,
      notes,
      label: 'AUTH=required',
      env: { AUTH: 'required', ADMIN_TOKEN: BENCH_ADMIN_TOKEN },
      apiKeys: (target, keys) => makeApiKeys(target.httpUrl ?? '', keys),
    });
    const best = { off: maxSustained(off), on: maxSustained(on) };
    const paired = off.flatMap((offStep) => {
      const onStep = on.find((step) => step.trainers === offStep.trainers);
      return onStep === undefined ? [] : [{ off: offStep, on: onStep }];
    });
    // The heaviest load both sustained: where a per-message cost would show most.
    const heaviest = paired.filter((pair) => pair.off.sustained && pair.on.sustained).at(-1);
    const cpuCost =
      heaviest === undefined
        ? Number.NaN
        : cpuPerKiloMessages(heaviest.on) / cpuPerKiloMessages(heaviest.off) - 1;
    const throughputShare = ratio(best.on?.trainers ?? 0, best.off?.trainers ?? 0);
    const targets: TargetVerdict[] = [
      {
        target: `Auth costs ≤ ${MAX_COST * 100}% of ingest throughput (most trainers sustained)`,
        measured: `${best.on?.trainers ?? 0} trainers with auth vs ${best.off?.trainers ?? 0} without (${times(throughputShare)})`,
        met: quick ? null : throughputShare >= 1 - MAX_COST,
        ...(quick ? { why: 'a quick run stops at 5 trainers: both sustain it' } : {}),
      },
      {
        target: `Auth costs ≤ ${MAX_COST * 100}% server CPU per acked message`,
        measured:
          heaviest === undefined
            ? 'no step sustained by both'
            : `${num(cpuCost * 100, 1)}% at ${heaviest.off.trainers} trainers`,
        met: quick || heaviest === undefined ? null : cpuCost <= MAX_COST,
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
        "process's, percent of one core; the load generator shares the same 2 cores.",
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
        stepTable('AUTH=off', off),
        stepTable('AUTH=required, one API key per trainer', on),
      ],
      targets,
      notes,
    };
  },
);
