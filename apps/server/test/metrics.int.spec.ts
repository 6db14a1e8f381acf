import { status } from '@grpc/grpc-js';
import {
  AlertRuleKind,
  DEFAULT_MAX_METRICS_PER_MESSAGE,
  DEFAULT_MAX_SERIES,
  ErrorCode,
  SeriesKind,
  TrainingStatus,
  type SessionSnapshot,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  expectCallError,
  grpcDashboard,
  grpcWebDashboard,
  register,
  scalarEvents,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
  type WatchHandle,
} from './harness';

const number = (value: number) => ({ kind: { case: 'number' as const, value } });

/** `count` distinct names, `prefix/0000`... */
const names = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, index) => `${prefix}/${String(index).padStart(4, '0')}`);

async function snapshotOf(watch: WatchHandle): Promise<SessionSnapshot> {
  const first = await waitFor(() => watch.events[0], { what: 'snapshot' });
  if (first.event.case !== 'snapshot') throw new Error(`first event is ${first.event.case}`);
  return first.event.value;
}

/**
 * Any named metric: series and message bounds, names, run metadata, NaN,
 * history in snapshots and deltas, over native gRPC and gRPC-Web, each next
 * to a healthy session that must not notice.
 */
describe.each([
  ['native gRPC', (server: TestServer) => grpcDashboard(server.grpcAddress)],
  ['gRPC-Web', (server: TestServer) => grpcWebDashboard(server.httpUrl)],
])('named metrics over %s', (name, connect) => {
  let server: TestServer;
  let dashboard: DashboardApi;
  let telemetry: ReturnType<typeof telemetryClient>;
  let healthy: TrainerStreamClient;
  let healthyWatch: WatchHandle;
  let healthySequence = 1n;
  let counter = 0;
  const nextId = () => `metrics-${name.replace(/\W/g, '')}-${++counter}`;

  async function trainer(init: Parameters<typeof register>[1] = {}): Promise<TrainerStreamClient> {
    const sessionId = nextId();
    await register(telemetry, { sessionId, ...init });
    const stream = new TrainerStreamClient(telemetry, sessionId);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await stream.waitForAck(1n);
    return stream;
  }

  /** The healthy session logs one more batch with a metric; its watcher and acks keep up. */
  async function expectHealthy(): Promise<void> {
    healthySequence += 1n;
    const batchIdx = Number(healthySequence);
    healthy.batch(healthySequence, 0, batchIdx, { metrics: { lr: batchIdx } });
    const ack = await healthy.waitForAck(healthySequence);
    expect(ack.success).toBe(true);
    await waitFor(
      () =>
        scalarEvents(healthyWatch).find(
          (event) => event.event.case === 'batch' && event.event.value.metrics['lr'] === batchIdx,
        ),
      { what: `healthy batch ${batchIdx}` },
    );
    expect(healthy.errors()).toEqual([]);
  }

  beforeAll(async () => {
    server = await startTestServer();
    dashboard = connect(server);
    telemetry = telemetryClient(server.grpcAddress);
    healthy = await trainer();
    healthyWatch = dashboard.watch(healthy.sessionId);
    await snapshotOf(healthyWatch);
  });

  afterAll(async () => {
    healthyWatch.cancel();
    healthy.end();
    dashboard.close();
    telemetry.close();
    await server.shutdown();
  });

  it('announces the bounds in ServerConfig', async () => {
    const response = await register(telemetry, { sessionId: nextId() });
    expect(response.serverConfig).toMatchObject({
      maxSeries: DEFAULT_MAX_SERIES,
      maxMetricsPerMessage: DEFAULT_MAX_METRICS_PER_MESSAGE,
    });
  });

  it('1,000 series (loss + 999 named) are accepted; the 1,001st name is refused, the stream goes on, known names still apply, and a late joiner gets every series', async () => {
    const stream = await trainer();
    const all = names('m', 999);
    let sequence = 1n;
    for (let start = 0; start < all.length; start += DEFAULT_MAX_METRICS_PER_MESSAGE) {
      sequence += 1n;
      const chunk = all.slice(start, start + DEFAULT_MAX_METRICS_PER_MESSAGE);
      const batchIdx = Number(sequence);
      stream.batch(sequence, 0, batchIdx, {
        metrics: Object.fromEntries(chunk.map((metric, index) => [metric, start + index])),
      });
    }
    await stream.waitForAck(sequence);
    expect(stream.errors()).toEqual([]);

    sequence += 1n;
    const refused = sequence;
    stream.batch(refused, 0, 10, { metrics: { 'm/0000': 1, 'one-too-many': 2 } });
    const ack = await stream.waitForAck(refused);
    expect(ack.success).toBe(false);
    expect(stream.errors()).toEqual([
      expect.objectContaining({
        code: ErrorCode.INVALID_ARGUMENT,
        sequence: refused,
        message: expect.stringMatching(/"one-too-many".*series 1001.*max_series 1000/),
      }),
    ]);

    sequence += 1n;
    stream.batch(sequence, 0, 11, { metrics: { 'm/0000': 7, 'm/0998': 8 } });
    expect((await stream.waitForAck(sequence)).success).toBe(true);
    await expectHealthy();

    const watch = dashboard.watch(stream.sessionId);
    const snapshot = await snapshotOf(watch);
    watch.cancel();
    expect(snapshot.session?.seriesCount).toBe(1000);
    const seriesNames = snapshot.series.map((series) => series.name);
    expect(seriesNames).toEqual(['loss', ...all].sort());
    const first = snapshot.series.find((series) => series.name === 'm/0000');
    // Batch 2 of epoch 0 (step 2) logged 0; the refused batch left nothing; batch 11 logged 7.
    expect(first).toMatchObject({
      steps: [2n, 11n],
      values: [0, 7],
      totalPoints: 2n,
      kind: SeriesKind.STEP,
    });
    expect(first?.timestampsMs).toHaveLength(2);
    const loss = snapshot.series.find((series) => series.name === 'loss');
    expect(loss?.totalPoints).toBe(5n);
    expect(snapshot.lossHistory?.steps).toEqual(loss?.steps);
    expect(snapshot.session?.batchesReceived).toBe(5n);
    stream.end();
  });

  it('a 10,000-character name and too many values in one message are refused with the bound named; the stream goes on', async () => {
    const stream = await trainer();
    const long = 'x'.repeat(10_000);
    stream.batch(2n, 0, 0, { metrics: { [long]: 1 } });
    stream.send(3n, {
      case: 'scalars',
      value: {
        step: 1n,
        values: Object.fromEntries(
          names('s', DEFAULT_MAX_METRICS_PER_MESSAGE + 1).map((n) => [n, 1]),
        ),
      },
    });
    stream.batch(4n, 0, 0, { metrics: { fine: 1 } });
    expect((await stream.waitForAck(4n)).success).toBe(true);
    const [tooLong, tooMany] = stream.errors();
    expect(tooLong?.message).toMatch(/10000 characters; at most 128/);
    expect(tooLong?.message.length).toBeLessThan(400);
    expect(tooMany?.message).toMatch(/257 named values, more than max_metrics_per_message 256/);
    await expectHealthy();
    stream.end();
  });

  it('a non-finite hyperparameter is refused at registration (INVALID_ARGUMENT) and on the stream (ErrorResponse, stream goes on)', async () => {
    const refused = await expectCallError(
      register(telemetry, {
        sessionId: nextId(),
        metadata: { hyperparameters: { lr: number(Number.POSITIVE_INFINITY) } },
      }),
    );
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.message).toMatch(
      /hyperparameter "lr" is Infinity; a number hyperparameter must be finite/,
    );

    const stream = await trainer({
      metadata: { hyperparameters: { lr: number(0.1) }, tags: ['a'] },
    });
    stream.send(2n, {
      case: 'runMetadata',
      value: { hyperparameters: { wd: number(Number.NaN) } },
    });
    stream.send(3n, { case: 'runMetadata', value: { tags: ['has,comma'] } });
    stream.batch(4n, 0, 0);
    expect((await stream.waitForAck(4n)).success).toBe(true);
    expect(stream.errors().map((error) => [error.code, error.sequence])).toEqual([
      [ErrorCode.INVALID_ARGUMENT, 2n],
      [ErrorCode.INVALID_ARGUMENT, 3n],
    ]);
    expect(stream.errors()[0]?.message).toMatch(/"wd" is NaN/);
    const { sessions } = await dashboard.listSessions();
    const summary = sessions.find((session) => session.sessionId === stream.sessionId);
    // The refused updates changed nothing.
    expect(Object.keys(summary?.metadata?.hyperparameters ?? {})).toEqual(['lr']);
    expect(summary?.metadata?.tags).toEqual(['a']);
    await expectHealthy();
    stream.end();
  });

  it('a live watcher gets BatchEvent.metrics (NaN included), ScalarsEvent and the merged metadata, in order', async () => {
    const stream = await trainer({
      metadata: { hyperparameters: { lr: number(0.1) }, tags: ['a'] },
      // The NaN is data here; the watchdog's alert on it is tested in watchdog.int.spec.
      alertRules: [{ kind: AlertRuleKind.NON_FINITE, disabled: true }],
    });
    const watch = dashboard.watch(stream.sessionId);
    const snapshot = await snapshotOf(watch);
    expect(snapshot.session?.metadata?.tags).toEqual(['a']);
    stream.batch(2n, 0, 0, { metrics: { grad_norm: Number.NaN, lr: 0.1 } });
    stream.send(3n, {
      case: 'scalars',
      value: { step: 0n, values: { 'system/cpu_percent': 42 }, timestampMs: 1234n },
    });
    stream.send(4n, {
      case: 'runMetadata',
      value: { hyperparameters: { wd: number(0.01) }, tags: ['b'], note: 'tuned' },
    });
    stream.send(5n, {
      case: 'epochData',
      value: { epoch: 0, averageLoss: 1, averageAccuracy: 0.5, metrics: { 'val/acc': 0.25 } },
    });
    await waitFor(() => scalarEvents(watch).length >= 4, { what: 'four deltas' });
    const events = scalarEvents(watch).map((event: WatchSessionResponse) => event.event);
    expect(events.map((event) => event.case)).toEqual(['batch', 'scalars', 'metadata', 'epoch']);
    const [batch, scalars, metadata, epoch] = events;
    if (
      batch?.case !== 'batch' ||
      scalars?.case !== 'scalars' ||
      metadata?.case !== 'metadata' ||
      epoch?.case !== 'epoch'
    ) {
      throw new Error('unreachable');
    }
    expect(Number.isNaN(batch.value.metrics['grad_norm'])).toBe(true);
    expect(batch.value.metrics['lr']).toBe(0.1);
    expect(scalars.value).toMatchObject({
      step: 0n,
      values: { 'system/cpu_percent': 42 },
      timestampMs: 1234n,
    });
    expect(metadata.value.tags).toEqual(['a', 'b']);
    expect(metadata.value.note).toBe('tuned');
    expect(Object.keys(metadata.value.hyperparameters).sort()).toEqual(['lr', 'wd']);
    expect(epoch.value.metrics).toEqual({ 'val/acc': 0.25 });
    watch.cancel();

    const late = dashboard.watch(stream.sessionId);
    const history = await snapshotOf(late);
    late.cancel();
    const byName = new Map(history.series.map((series) => [series.name, series]));
    expect([...byName.keys()]).toEqual([
      'grad_norm',
      'loss',
      'lr',
      'system/cpu_percent',
      'val/acc',
    ]);
    expect(Number.isNaN(byName.get('grad_norm')?.values[0])).toBe(true);
    expect(byName.get('system/cpu_percent')).toMatchObject({
      steps: [0n],
      values: [42],
      timestampsMs: [1234n],
    });
    expect(byName.get('val/acc')).toMatchObject({
      steps: [0n],
      values: [0.25],
      kind: SeriesKind.EPOCH,
    });
    expect(history.session?.seriesCount).toBe(5);
    await expectHealthy();
    stream.end();
  });

  it('a NaN or infinite batch_loss and non-finite epoch averages are applied, acknowledged and kept in the loss series', async () => {
    const stream = await trainer();
    stream.batch(2n, 0, 0, { batchLoss: Number.NaN });
    stream.batch(3n, 0, 1, { batchLoss: Number.POSITIVE_INFINITY });
    stream.send(4n, {
      case: 'epochData',
      value: { epoch: 0, averageLoss: Number.NaN, averageAccuracy: Number.NaN },
    });
    const acks = await Promise.all([2n, 3n, 4n].map((sequence) => stream.waitForAck(sequence)));
    expect(acks.map((ack) => ack.success)).toEqual([true, true, true]);
    expect(stream.errors()).toEqual([]);
    const watch = dashboard.watch(stream.sessionId);
    const history = await snapshotOf(watch);
    watch.cancel();
    const loss = history.series.find((series) => series.name === 'loss');
    expect(loss?.values[0]).toBeNaN();
    expect(loss?.values[1]).toBe(Number.POSITIVE_INFINITY);
    expect(history.epochs[0]?.averageLoss).toBeNaN();
    await expectHealthy();
    stream.end();
  });
});
