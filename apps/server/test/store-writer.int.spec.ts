import { SeriesKind, TrainingStatus } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { fromStoredValue } from '../src/store/series-value';
import type { OpenDatabase } from '../src/store/open-database';
import { StoreReads } from '../src/store/store-reads';
import {
  makeJpeg,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';
import { SteadyTrainer } from './steady-trainer';
import { STORE_ENGINES, type StoreEngineFixture, type TestStore } from './store-engines';

/** Values a diverging run produces, each stored and read back as itself. */
const ODD_VALUES = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0.5, 1e300];

describe.each(STORE_ENGINES)('store writer on %s', (_name, makeFixture) => {
  const fixture: StoreEngineFixture = makeFixture();
  let store: TestStore;
  let server: TestServer;
  let reader: OpenDatabase;
  const cleanups: (() => void)[] = [];

  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  beforeEach(async () => {
    store = await fixture.newStore();
    server = await startTestServer(store.env);
    reader = await store.open();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    await reader.close();
    await server.shutdown();
    store.remove();
  });

  it('stores every acknowledged message once, NaN and ±Infinity as sent, the last applied sequence with them; a second trainer keeps its acks', async () => {
    const steady = new SteadyTrainer(server.grpcAddress, 'steady', 20);
    await steady.start();
    cleanups.push(() => steady.stop());
    const client = telemetryClient(server.grpcAddress);
    cleanups.push(() => client.close());
    await register(client, {
      sessionId: 'run',
      config: {
        totalEpochs: 2,
        batchesPerEpoch: 50,
        batchSize: 4,
        modelName: 'net',
        datasetName: 'set',
        classNames: ['a', 'b'],
      },
      metadata: { tags: ['t1', 't2'], note: 'first try' },
    });
    const stream = new TrainerStreamClient(client, 'run');
    cleanups.push(() => stream.end());
    const jpeg = makeJpeg(8, 8);
    for (let index = 0; index < 40; index++) {
      stream.batch(BigInt(index + 1), 0, index, {
        batchLoss: 1 / (index + 1),
        metrics: { acc: index / 40, odd: ODD_VALUES[index % ODD_VALUES.length] as number },
        images: [{ imageBytes: jpeg, format: 'jpeg', width: 8, height: 8, channels: 3 }],
        groundTruth: [index % 2],
      });
    }
    stream.send(41n, { case: 'scalars', value: { step: 39n, values: { lr: 0.01 } } });
    stream.send(42n, {
      case: 'epochData',
      value: { epoch: 0, averageLoss: 0.5, metrics: { val_acc: 0.9 } },
    });
    stream.send(43n, { case: 'performanceData', value: { timePerBatchMs: 12, currentFps: 80 } });
    stream.send(44n, {
      case: 'statusUpdate',
      value: { status: TrainingStatus.RUNNING, message: 'going' },
    });
    await stream.waitForAck(44n);
    expect(stream.errors()).toEqual([]);

    // Acked means committed: a second connection sees all of it now.
    const session = await reader.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', 'run')
      .executeTakeFirstOrThrow();
    expect(session).toMatchObject({
      last_sequence: 44,
      batches_received: 40,
      model_name: 'net',
      dataset_name: 'set',
      class_count: 2,
      note: 'first try',
      status: TrainingStatus.RUNNING,
      epoch: 0,
      batch_idx: 39,
      stored_frames: 40,
    });
    expect(session.config).not.toBeNull();
    const tags = await reader.db
      .selectFrom('session_tags')
      .select('tag')
      .where('session_id', '=', 'run')
      .orderBy('tag')
      .execute();
    expect(tags.map((row) => row.tag)).toEqual(['t1', 't2']);

    const points = await reader.db
      .selectFrom('points')
      .innerJoin('series', 'series.id', 'points.series_id')
      .select(['series.name', 'series.kind', 'points.step', 'points.value'])
      .where('series.session_id', '=', 'run')
      .orderBy('series.name')
      .orderBy('points.step')
      .execute();
    const of = (name: string) => points.filter((point) => point.name === name);
    expect(of('loss').map((point) => point.step)).toEqual([...Array(40).keys()]);
    expect(of('loss').map((point) => point.value)).toEqual(
      [...Array(40).keys()].map((index) => 1 / (index + 1)),
    );
    expect(of('odd').map((point) => fromStoredValue(point.value))).toEqual(
      [...Array(40).keys()].map((index) => ODD_VALUES[index % ODD_VALUES.length]),
    );
    expect(of('lr')).toEqual([{ name: 'lr', kind: SeriesKind.STEP, step: 39, value: 0.01 }]);
    expect(of('val_acc')).toEqual([
      { name: 'val_acc', kind: SeriesKind.EPOCH, step: 0, value: 0.9 },
    ]);

    const frames = await reader.db
      .selectFrom('image_frames')
      .select('step')
      .where('session_id', '=', 'run')
      .orderBy('step')
      .execute();
    expect(frames.map((frame) => frame.step)).toEqual([...Array(40).keys()]);
    const [last] = await new StoreReads(reader.db, reader.frameFiles).framesAt('run', [39]);
    expect(last?.images[0]?.imageBytes).toEqual(jpeg);
    expect(last?.groundTruth).toEqual([1]);

    const counts = await Promise.all(
      (['epochs', 'performance', 'status_events'] as const).map((table) =>
        reader.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('session_id', '=', 'run')
          .executeTakeFirstOrThrow(),
      ),
    );
    expect(counts.map((row) => Number(row.n))).toEqual([1, 1, 1]);

    // The other trainer was acknowledged all along.
    const before = steady.latencies.length;
    await waitFor(() => steady.latencies.length >= before + 3, { what: 'steady trainer acks' });
  });

  it('sends no ack before the commit that holds the message', async () => {
    await server.shutdown();
    server = await startTestServer({ ...store.env, STORE_FLUSH_INTERVAL_MS: '300' });
    const client = telemetryClient(server.grpcAddress);
    cleanups.push(() => client.close());
    await register(client, { sessionId: 'slow' });
    const stream = new TrainerStreamClient(client, 'slow');
    cleanups.push(() => stream.end());
    const sentAt = Date.now();
    stream.batch(1n, 0, 0, { batchLoss: 0.25 });
    await stream.waitForAck(1n);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(250);
    const row = await reader.db
      .selectFrom('sessions')
      .select('last_sequence')
      .where('id', '=', 'slow')
      .executeTakeFirst();
    expect(row?.last_sequence).toBe(1);
  });

  it('a duplicate is acknowledged without a second row', async () => {
    const client = telemetryClient(server.grpcAddress);
    cleanups.push(() => client.close());
    await register(client, { sessionId: 'dup' });
    const stream = new TrainerStreamClient(client, 'dup');
    cleanups.push(() => stream.end());
    stream.batch(1n, 0, 0);
    stream.batch(1n, 0, 0);
    stream.batch(2n, 0, 1);
    await stream.waitForAck(2n);
    expect(stream.acks().map((ack) => [ack.sequence, ack.duplicate])).toEqual([
      [1n, false],
      [1n, true],
      [2n, false],
    ]);
    const loss = await reader.db
      .selectFrom('points')
      .innerJoin('series', 'series.id', 'points.series_id')
      .select('points.step')
      .where('series.session_id', '=', 'dup')
      .execute();
    expect(loss.map((row) => row.step).sort()).toEqual([0, 1]);
  });
});
