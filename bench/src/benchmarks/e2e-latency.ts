/**
 * End to end: trainer send → watcher receive at 60 msg/s with 16 × 2 KB
 * images, for 1, 10 and 100 watchers on one session, over native gRPC and
 * gRPC-Web (product) and through the bare relay (native gRPC only).
 */
import { StageProbe, type StageSplit } from '../common/fan-out-stages';
import { count, ms, pct, times } from '../common/format';
import { jpegSet } from '../common/jpeg-payloads';
import { LiveSession } from '../common/live-session';
import { ProcSampler } from '../common/proc-stats';
import { WATCHERS_PER_PROCESS } from '../common/watcher-processes';
import { runBench, type TargetVerdict } from '../common/result';
import { ratio, type Summary } from '../common/stats';
import { startTarget, type TargetKind } from '../common/targets';
import type { WatchProtocol } from '../common/watchers';
import { encodeImagePart } from '../common/wire';

const RATE = 60;
const TARGET_P99_MS = 50;

interface Run {
  kind: TargetKind;
  protocol: WatchProtocol;
  watchers: number;
  batch: Summary;
  images: Summary;
  /** Image frames received per watcher per batch sent (latest-wins may skip). */
  imageShare: number;
  /** Batch events received per watcher per batch sent (should be 1: scalars are lossless). */
  batchShare: number;
  cpuPercent: number;
  /** The trainer's process (the load generator's sending side). */
  benchCpuPercent: number;
  /** The watcher processes, summed. */
  watchersCpuPercent: number;
  /** The scalar event's latency split per stage (product only). */
  stages?: StageSplit & { sendToApply: Summary; applyToArrival: Summary };
  error?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function measure(
  kind: TargetKind,
  protocol: WatchProtocol,
  watchers: number,
  imagePart: Uint8Array,
  warmupMs: number,
  windowMs: number,
): Promise<Run> {
  const target = await startTarget(kind);
  const sampler = new ProcSampler(target.pid).start();
  const self = new ProcSampler(process.pid).start();
  const session = new LiveSession(target, `e2e-${protocol}-${watchers}`, imagePart, RATE);
  try {
    await session.start();
    await session.addWatcherProcesses(watchers, protocol);
    const watcherSamplers = session.watcherPids.map((pid) => new ProcSampler(pid).start());
    await sleep(warmupMs);
    const probe = kind === 'product' ? new StageProbe(target, protocol) : undefined;
    await probe?.start();
    const from = performance.now();
    session.startRecording();
    await sleep(windowMs);
    await session.stopRecording(watchers);
    const split = await probe?.stop();
    const sent = session.sentWhileRecording;
    const perWatcher = (n: number) => n / Math.max(1, sent * watchers);
    const run: Run = {
      kind,
      protocol,
      watchers,
      batch: session.batchLatency.summary(),
      images: session.imageLatency.summary(),
      imageShare: perWatcher(session.imageFrames),
      batchShare: perWatcher(session.batchEvents),
      cpuPercent: sampler.window(from).cpuPercent,
      benchCpuPercent: self.window(from).cpuPercent,
      watchersCpuPercent: watcherSamplers.reduce((sum, w) => sum + w.window(from).cpuPercent, 0),
      stages: split && {
        ...split,
        sendToApply: session.sendToApply.summary(),
        applyToArrival: session.applyToArrival.summary(),
      },
      error: session.watcherError() ?? session.trainer.firstError,
    };
    console.error(`[e2e] ${kind} ${protocol} × ${watchers}: ${JSON.stringify(run)}`);
    for (const watcherSampler of watcherSamplers) watcherSampler.stop();
    return run;
  } finally {
    await session.close();
    sampler.stop();
    self.stop();
    await target.stop();
  }
}

const triple = (s: Summary) => `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)}`;

runBench('e2e', 'End to end: trainer send → watcher receive', async ({ quick, targets: sides }) => {
  const imagePart = encodeImagePart(jpegSet(2048, 16));
  const warmupMs = quick ? 1000 : 3000;
  const windowMs = quick ? 2000 : 10_000;
  // 100 watchers in quick runs too: the wall of browsers is the case that regresses.
  // E2E_WATCHERS (e.g. "100") narrows the rows while iterating on one of them.
  const fanOut = (process.env.E2E_WATCHERS ?? '1,10,100').split(',').map(Number);
  const plans: { kind: TargetKind; protocol: WatchProtocol }[] = [
    { kind: 'product', protocol: 'grpc' },
    { kind: 'product', protocol: 'grpc-web' },
    { kind: 'relay', protocol: 'grpc' },
  ];
  // E2E_PROTOCOLS (e.g. "grpc") likewise narrows the protocols.
  const protocols = (process.env.E2E_PROTOCOLS ?? 'grpc,grpc-web').split(',');
  const runs: Run[] = [];
  const notes: string[] = [];
  for (const plan of plans.filter((p) => sides.has(p.kind) && protocols.includes(p.protocol))) {
    for (const watchers of fanOut) {
      try {
        runs.push(await measure(plan.kind, plan.protocol, watchers, imagePart, warmupMs, windowMs));
      } catch (error) {
        notes.push(
          `${plan.kind} ${plan.protocol} × ${watchers} watchers failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }
  for (const run of runs)
    if (run.error) notes.push(`${run.kind} ${run.protocol} × ${run.watchers}: ${run.error}`);
  const relayOf = (watchers: number) =>
    runs.find((r) => r.kind === 'relay' && r.watchers === watchers);
  const rows = runs.map((run) => {
    const relay = relayOf(run.watchers);
    return [
      run.kind === 'relay' ? 'relay (baseline)' : 'product',
      run.protocol,
      String(run.watchers),
      `${triple(run.batch)} (n=${count(run.batch.count)})`,
      `${triple(run.images)} (n=${count(run.images.count)})`,
      pct(run.batchShare * 100),
      pct(run.imageShare * 100),
      run.kind === 'relay' || !relay
        ? '—'
        : times(ratio(Math.max(run.batch.p99, run.images.p99), relay.images.p99)),
      pct(run.cpuPercent),
      pct(run.benchCpuPercent),
      pct(run.watchersCpuPercent),
    ];
  });
  const p50p99 = (p50: number, p99: number) => `${ms(p50)} / ${ms(p99)}`;
  const stageRows = runs.flatMap((run) =>
    run.stages === undefined
      ? []
      : [
          [
            run.protocol,
            String(run.watchers),
            p50p99(run.stages.sendToApply.p50, run.stages.sendToApply.p99),
            p50p99(run.stages.applyToWriteP50, run.stages.applyToWriteP99),
            p50p99(run.stages.applyToArrival.p50, run.stages.applyToArrival.p99),
            ms(run.stages.serverLoopLagP99),
            `${ms(run.stages.benchLoopDelayP99)} (max ${ms(run.stages.benchLoopDelayMax)})`,
          ],
        ],
  );
  const targets: TargetVerdict[] = [];
  for (const watchers of [10, 100])
    for (const protocol of ['grpc', 'grpc-web'] as const) {
      const run = runs.find(
        (r) => r.kind === 'product' && r.protocol === protocol && r.watchers === watchers,
      );
      const worst = run ? Math.max(run.batch.p99, run.images.p99) : Number.NaN;
      // At 100 watchers every scalar must arrive too (latest-wins images may be skipped).
      const complete = watchers < 100 || (run !== undefined && run.batchShare >= 0.999);
      targets.push({
        target: `End to end p99 ≤ ${TARGET_P99_MS} ms, ${watchers} watchers, ${protocol === 'grpc' ? 'native gRPC' : 'gRPC-Web'}${watchers >= 100 ? ', every scalar delivered' : ''}`,
        measured: run
          ? `scalars ${ms(run.batch.p99)}, images ${ms(run.images.p99)}${watchers >= 100 ? `, scalars delivered ${pct(run.batchShare * 100)}` : ''}`
          : 'not measured',
        met: quick || !run ? null : worst <= TARGET_P99_MS && complete,
      });
    }
  return {
    method:
      `One trainer sends ${RATE} batches/s, each with 16 noise JPEGs of ~2 KB. The watchers run apart from the trainer, ` +
      `in processes of their own (up to ${WATCHERS_PER_PROCESS} per process, so 100 watchers are one process beside the ` +
      "trainer's and use at most one of the two cores, leaving the server the other), so their work does not " +
      "delay the trainer's sends. They read from each message only what they time (watch-scan.ts: the event, batch_idx, " +
      'the apply time), note each arrival as Unix time (performance.timeOrigin + now) and hand them over after the ' +
      "window; the trainer's process times each against the send time of that batch (matched " +
      'by batch_idx). On the product a ' +
      'batch reaches a watcher as two events, the scalar BatchEvent and the latest-wins ImageFrame; the relay forwards ' +
      `the trainer's message whole, so both columns time the same message there. Window ${windowMs / 1000} s after a ` +
      `${warmupMs / 1000} s warm-up; a fresh target process per row. The relay speaks native gRPC only, so gRPC-Web rows ` +
      "are compared with its native figures. The ratio is the product's worse p99 over the relay's p99.",
    tables: [
      {
        caption: 'Latency p50 / p95 / p99 (samples); delivered = events per watcher per batch sent',
        columns: [
          'target',
          'protocol',
          'watchers',
          'scalar event',
          'image frame',
          'scalars delivered',
          'images delivered',
          'p99 vs relay',
          'target CPU',
          'trainer process CPU',
          'watcher processes CPU',
        ],
        rows,
      },
      {
        caption:
          "The product's scalar event per stage, p50 / p99: trainer send → server apply (BatchEvent.received_at_ms), " +
          "apply → write to the watcher's stream (the server's fan_out_latency_ms histogram, interpolated in its " +
          "buckets), apply → watcher receive; event-loop delay of the server (prom-client) and of the trainer's process",
        columns: [
          'protocol',
          'watchers',
          'send → apply',
          'apply → write',
          'apply → arrival',
          'server loop lag p99',
          'trainer process loop delay p99',
        ],
        rows: stageRows,
      },
    ],
    targets,
    notes,
  };
});
