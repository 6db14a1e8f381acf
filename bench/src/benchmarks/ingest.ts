/**
 * Ingest saturation: ramps concurrent trainers, each at 60 msg/s with 16
 * images, against the product and the bare relay, and reports the most each
 * sustains before acknowledgements fall behind.
 */
import {
  IMAGES,
  MAX_LAG_GROWTH_SECONDS,
  MIN_ACK_SHARE,
  RATE,
  maxSustained,
  ramp,
  stepTable,
  type StepResult,
} from '../common/ingest-ramp';
import { runBench, type ResultTable, type TargetVerdict } from '../common/result';
import { ratio } from '../common/stats';
import { mb, num, pct, times } from '../common/format';

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
        ? await ramp({
            kind: 'product',
            imageSize: plan.imageSize,
            metricCount: plan.metrics,
            steps: plan.steps,
            warmupMs,
            windowMs,
            notes,
          })
        : [];
      const relay = sides.has('relay')
        ? await ramp({
            kind: 'relay',
            imageSize: plan.imageSize,
            metricCount: plan.metrics,
            steps: plan.steps,
            warmupMs,
            windowMs,
            notes,
          })
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
