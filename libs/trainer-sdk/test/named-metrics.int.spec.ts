import { type SeriesHistory, type WatchSessionResponse } from '@trainwatch/proto';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { TrainingSession, type SessionError } from '../src';
import { DashboardClient } from './dashboard-client';

const config = { totalEpochs: 2, batchesPerEpoch: 10, batchSize: 4, classNames: ['a', 'b'] };

function snapshotSeries(events: WatchSessionResponse[]): Map<string, SeriesHistory> {
  const first = events[0];
  if (first?.event.case !== 'snapshot') throw new Error('no snapshot');
  return new Map(first.event.value.series.map((s) => [s.name, s]));
}

describe('named metrics, log(), run metadata and system series against the real server', () => {
  let server: ServerProcess;
  let dashboard: DashboardClient;
  const sessions: TrainingSession[] = [];

  beforeAll(async () => {
    server = await startServerProcess({ env: { HEARTBEAT_INTERVAL_MS: '200' } });
    dashboard = new DashboardClient(server.grpcAddress);
  });

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close({ flushTimeoutMs: 500 })));
    dashboard.close();
    await server.stop();
  });

  async function open(sessionId: string, errors: SessionError[], systemMetrics = true) {
    const session = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId,
      config,
      systemMetrics,
      metadata: {
        hyperparameters: { lr: 0.01, optimizer: 'sgd', nesterov: true },
        tags: ['demo', 'cifar10'],
        note: 'baseline',
      },
      onError: (error) => errors.push(error),
    });
    sessions.push(session);
    return session;
  }

  it('delivers every named value as its own series, leaves bad names out without losing the batch, and keeps a second session going', async () => {
    const errors: SessionError[] = [];
    const healthyErrors: SessionError[] = [];
    const run = await open('named-metrics', errors);
    const healthy = await open('named-metrics-healthy', healthyErrors, false);

    for (let batchIdx = 0; batchIdx < 10; batchIdx++) {
      run.logBatch({
        epoch: 0,
        batchIdx,
        loss: 1 / (batchIdx + 1),
        metrics: {
          lr: 0.01,
          grad_norm: 2 + batchIdx,
          'train/acc': batchIdx / 10,
          // The server would refuse the whole batch for this name; the SDK leaves it out.
          ['x'.repeat(10_000)]: 1,
        },
        // A model with more outputs than named classes: samples left out, loss kept.
        predictions: [{ predictedClass: 7, confidence: 0.5 }],
        groundTruth: [1],
      });
      healthy.logBatch({ epoch: 0, batchIdx, loss: 1 });
    }
    run.log({ 'train/epoch_time_s': 3.5 });
    run.logEpoch({
      epoch: 0,
      averageLoss: 0.5,
      averageAccuracy: 0.8,
      metrics: { 'val/loss': 0.6, 'val/acc': 0.7 },
    });
    run.setMetadata({ note: 'tuned', hyperparameters: { lr: NaN, warmup: 5 }, tags: ['tuned'] });
    // System series: sampled every second by default.
    const watcher = dashboard.watch('named-metrics');
    await waitFor(
      () =>
        watcher.events.some(
          (e) => e.event.case === 'scalars' && 'system/cpu_percent' in e.event.value.values,
        ),
      { what: 'a system sample', timeoutMs: 5000 },
    );
    expect(await run.flush(5000)).toBe(true);
    expect(await healthy.flush(5000)).toBe(true);
    watcher.stop();

    // The server took every message: nothing was rejected.
    expect(errors.filter((e) => e.kind === 'server-error')).toEqual([]);
    expect(errors.filter((e) => e.kind === 'invalid-metric').map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^logBatch 0\/0: left out "x+": a series name must be 1-128 characters/,
      ),
      'setMetadata: hyperparameter lr: NaN is not finite (the server refuses it)',
    ]);
    expect(errors.filter((e) => e.kind === 'class-out-of-range')).toHaveLength(10);

    // A late joiner's snapshot has each series, with the right kind and steps.
    const late = dashboard.watch('named-metrics');
    await waitFor(() => late.events.length > 0, { what: 'the snapshot' });
    late.stop();
    const series = snapshotSeries(late.events);
    expect(series.get('loss')?.values).toHaveLength(10);
    expect(series.get('grad_norm')?.values).toEqual(Array.from({ length: 10 }, (_, i) => 2 + i));
    expect(series.get('grad_norm')?.steps.map(Number)).toEqual(
      Array.from({ length: 10 }, (_, i) => i),
    );
    expect(series.get('lr')?.values).toHaveLength(10);
    expect(series.get('train/acc')?.values).toHaveLength(10);
    // log() without a step: the latest batch's global step.
    expect(series.get('train/epoch_time_s')?.steps.map(Number)).toEqual([9]);
    expect(series.get('val/loss')).toMatchObject({ values: [0.6] });
    expect(series.get('val/acc')).toMatchObject({ values: [0.7] });
    expect(series.get('system/cpu_percent')?.values.length).toBeGreaterThan(0);
    expect(series.get('system/memory_total_bytes')?.values[0]).toBeGreaterThan(0);
    expect([...series.keys()].some((name) => name.startsWith('xxx'))).toBe(false);

    const first = late.events[0]!;
    const metadata =
      first.event.case === 'snapshot' ? first.event.value.session?.metadata : undefined;
    expect(metadata?.note).toBe('tuned');
    expect(metadata?.tags).toEqual(['demo', 'cifar10', 'tuned']);
    expect(metadata?.hyperparameters.lr?.kind).toEqual({ case: 'number', value: 0.01 });
    expect(metadata?.hyperparameters.warmup?.kind).toEqual({ case: 'number', value: 5 });
    expect(metadata?.hyperparameters.optimizer?.kind).toEqual({ case: 'text', value: 'sgd' });

    // The healthy session was unaffected, and had no system series (switched off).
    expect(healthyErrors).toEqual([]);
    expect(healthy.stats().acked).toBe(healthy.stats().lastSequence);
    const healthySummary = await dashboard.session('named-metrics-healthy');
    expect(healthySummary?.batchesReceived).toBe(10n);
    expect(healthySummary?.seriesCount).toBe(1);
  });

  it('rejects nothing at the series bound: the SDK stops new names at max_series and reports them', async () => {
    const errors: SessionError[] = [];
    const run = await open('series-bound', errors, false);
    const names = Array.from({ length: 1100 }, (_, i) => `m${i}`);
    // 5 messages of 220 names: past 1,000 series (loss included) the new names are left out.
    for (let chunk = 0; chunk < 5; chunk++) {
      run.log(Object.fromEntries(names.slice(chunk * 220, (chunk + 1) * 220).map((n) => [n, 1])), {
        step: chunk,
      });
    }
    expect(await run.flush(5000)).toBe(true);
    expect(errors.filter((e) => e.kind === 'server-error')).toEqual([]);
    const bounded = errors.filter((e) => e.kind === 'invalid-metric');
    expect(bounded).toHaveLength(101);
    expect(bounded[0]?.message).toMatch(/m999.*already has 1000 series/);
    // m0..m998: the SDK keeps a place for `loss`, which this run has not logged yet.
    expect((await dashboard.session('series-bound'))?.seriesCount).toBe(999);
  });
});
