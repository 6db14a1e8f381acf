/**
 * Ingest saturation: ramps concurrent trainers, each at 60 msg/s with 16
 * images, against the product and the bare relay, and reports the most each
 * sustains before acknowledgements fall behind.
 */
import { jpegSet } from '../common/jpeg-payloads';
import { LoadTrainer, Pacer } from '../common/load-trainer';
import { ProcSampler } from '../common/proc-stats';
import { runBench, type ResultTable, type TargetVerdict } from '../common/result';
import { ratio, slope } from '../common/stats';
import { startTarget, type Target, type TargetKind } from '../common/targets';
import { benchMetricNames, encodeImagePart } from '../common/wire';
import { count, mb, num, pct, times } from '../common/format';

const RATE = 60;
const IMAGES = 16;
/** A step is sustained when acks arrive at >= this share of the offered rate… */
const MIN_ACK_SHARE = 0.95;
/**
 * …and the backlog (sent − acked) grows over the window by less than this
 * many seconds' worth of offered traffic (or MIN_LAG_GROWTH messages, for
 * small steps where a few in-flight messages are noise).
 */
const MAX_LAG_GROWTH_SECONDS = 0.1;
const MIN_LAG_GROWTH = 10;

interface StepResult {
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
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function measureStep(
  trainers: LoadTrainer[],
  sampler: ProcSampler,
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
  const target = sampler.window(start);
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

async function ramp(
  kind: TargetKind,
  imageSize: number,
  metricCount: number,
  steps: readonly number[],
  warmupMs: number,
  windowMs: number,
  notes: string[],
): Promise<StepResult[]> {
  const imagePart = encodeImagePart(jpegSet(imageSize, IMAGES));
  const metricNames = benchMetricNames(metricCount);
  // Each named value costs its name plus ~14 bytes of framing and the double.
  const messageBytes =
    imagePart.length + 64 + metricNames.reduce((sum, name) => sum + name.length + 14, 0);
  const target: Target = await startTarget(kind);
  const sampler = new ProcSampler(target.pid).start();
  const self = new ProcSampler(process.pid).start();
  const pacer = new Pacer(RATE);
  const trainers: LoadTrainer[] = [];
  const results: StepResult[] = [];
  pacer.start([]);
  try {
    for (const size of steps) {
      while (trainers.length < size) {
        const trainer = new LoadTrainer(
          target,
          `ingest-${imageSize}-${metricCount}-${trainers.length}`,
          imagePart,
          0,
          metricNames,
        );
        await trainer.open();
        trainers.push(trainer);
        pacer.add(trainer);
      }
      await sleep(warmupMs);
      const step = await measureStep(trainers, sampler, self, messageBytes, windowMs);
      const sustained =
        step.ackedPerSec >= MIN_ACK_SHARE * step.offeredPerSec &&
        step.lagGrowthPerSec * (windowMs / 1000) <
          Math.max(MAX_LAG_GROWTH_SECONDS * step.offeredPerSec, MIN_LAG_GROWTH) &&
        step.heldBack === 0 &&
        step.errors === 0;
      results.push({ trainers: size, ...step, sustained });
      console.error(
        `[ingest] ${kind} ${imageSize} B + ${metricCount} metrics × ${size}: ${JSON.stringify(results.at(-1))}`,
      );
      const failed = trainers.find((t) => t.firstError !== undefined);
      if (failed)
        notes.push(
          `${kind}, ${imageSize}-byte images: first error seen by a trainer: ${failed.firstError}`,
        );
      if (!sustained) break;
    }
  } finally {
    pacer.stop();
    await Promise.all(trainers.map((t) => t.close()));
    sampler.stop();
    self.stop();
    await target.stop();
  }
  return results;
}

function maxSustained(steps: readonly StepResult[]): StepResult | undefined {
  return steps.filter((s) => s.sustained).at(-1);
}

function stepTable(caption: string, steps: readonly StepResult[]): ResultTable {
  return {
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
      String(s.trainers),
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
}

runBench(
  'ingest',
  'Ingest: concurrent trainers at 60 msg/s with 16 images',
  async ({ quick, targets: sides }) => {
    const warmupMs = quick ? 1000 : 3000;
    const windowMs = quick ? 2000 : 8000;
    const plans = [
      {
        imageSize: 2048,
        metrics: 0,
        steps: quick ? [2, 5] : [10, 25, 50, 75, 90, 100, 115, 130, 150, 200],
      },
      {
        imageSize: 2048,
        metrics: 20,
        steps: quick ? [2, 5] : [10, 25, 50, 75, 90, 100, 115, 130, 150, 200],
      },
      { imageSize: 15 * 1024, metrics: 0, steps: quick ? [1, 2] : [2, 5, 10, 15, 20, 25, 30, 40] },
    ];
    const notes: string[] = [];
    const tables: ResultTable[] = [];
    const targets: TargetVerdict[] = [];
    const summaryRows: string[][] = [];
    for (const plan of plans) {
      const product = sides.has('product')
        ? await ramp('product', plan.imageSize, plan.metrics, plan.steps, warmupMs, windowMs, notes)
        : [];
      const relay = sides.has('relay')
        ? await ramp('relay', plan.imageSize, plan.metrics, plan.steps, warmupMs, windowMs, notes)
        : [];
      const best = { product: maxSustained(product), relay: maxSustained(relay) };
      const label = `16 × ${plan.imageSize / 1024} KB images${plan.metrics > 0 ? ` + ${plan.metrics} named metrics` : ''}`;
      tables.push(
        stepTable(`Product, ${label}`, product),
        stepTable(`Relay baseline, ${label}`, relay),
      );
      // Name the step that failed too: the true limit lies between the two.
      const ceiling = (steps: StepResult[]) => {
        const failed = steps.find((s) => !s.sustained);
        return failed ? ` (${failed.trainers} not)` : ' (ramp ceiling)';
      };
      summaryRows.push([
        label,
        `${best.product?.trainers ?? 0}${ceiling(product)}`,
        `${best.relay?.trainers ?? 0}${ceiling(relay)}`,
        times(ratio(best.product?.trainers ?? 0, best.relay?.trainers ?? 0)),
        num(best.product?.mbPerSec ?? Number.NaN, 1),
        num(best.relay?.mbPerSec ?? Number.NaN, 1),
        best.product ? `${pct(best.product.cpuPercent)} / ${mb(best.product.rssBytes)}` : 'n/a',
        best.relay ? `${pct(best.relay.cpuPercent)} / ${mb(best.relay.rssBytes)}` : 'n/a',
      ]);
      const productMax = best.product?.trainers ?? 0;
      const relayMax = best.relay?.trainers ?? 0;
      const share = ratio(productMax, relayMax);
      targets.push({
        target: `Ingest within 80% of the bare relay (${label})`,
        measured: `${productMax} vs ${relayMax} trainers (${times(share)})`,
        met: quick ? null : share >= 0.8,
      });
      if (plan.imageSize === 2048) {
        targets.push({
          target: `≥ 50 concurrent trainers at 60 msg/s with ${label}`,
          measured: `${productMax} trainers`,
          met: quick ? null : productMax >= 50,
        });
      }
    }
    tables.unshift({
      caption: 'Most trainers sustained (each 60 msg/s); MB/s, CPU and RSS at that step',
      columns: [
        'images',
        'product',
        'relay',
        'ratio',
        'product MB/s',
        'relay MB/s',
        'product CPU / RSS',
        'relay CPU / RSS',
      ],
      rows: summaryRows,
    });
    return {
      method:
        `Trainers are added in steps, each sending ${RATE} batches/s of ${IMAGES} noise JPEGs; after a warm-up, a ` +
        `${windowMs / 1000} s window measures acks/s and the growth of sent − acked. A step is sustained when acks ` +
        `reach ${MIN_ACK_SHARE * 100}% of the offered rate and the backlog grows over the window by less than ` +
        `${MAX_LAG_GROWTH_SECONDS * 1000} ms of offered traffic (least-squares slope of the lag sampled every 250 ms). ` +
        'The ramp stops at the first step that is not. CPU is percent of one core (2 cores = 200%); ' +
        'the load generator runs on the same 2 cores ("bench CPU"); sent below offered means the generator itself ' +
        'could not keep up.',
      tables,
      targets,
      notes,
    };
  },
);
