import type { LoggerService } from '@nestjs/common';
import { TrainingStatus, type WatchSessionResponse } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  grpcDashboard,
  makeJpeg,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';
import { STORE_ENGINES, type TestStore } from './store-engines';

/** Bytes that are no protobuf message: an unterminated varint tag. */
const NOT_A_MESSAGE = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);

const warnings: string[] = [];
const quiet = () => undefined;
const logger: LoggerService = {
  log: quiet,
  error: quiet,
  warn: (message: unknown) => warnings.push(String(message)),
};

/**
 * One run's stored values damaged (a disk that flipped bits, an edit by
 * hand, a copy gone wrong): its config, metadata, epochs and latest
 * performance record no longer decode. That run still lists and opens with
 * what does decode, every other run is untouched, and the log names each
 * damaged value once. Before, ListSessions answered INTERNAL for every run
 * and the damaged run could not be opened.
 */
describe.each(STORE_ENGINES)('a damaged stored run on %s', (_name, makeFixture) => {
  const fixture = makeFixture();
  // The log names a damaged value once per process: each engine's run has a name of its own.
  const damagedId = `damaged-${fixture.name.toLowerCase()}`;
  let store: TestStore;
  let server: TestServer | undefined;

  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  beforeEach(async () => {
    store = await fixture.newStore();
  });
  afterEach(async () => {
    await server?.shutdown();
    server = undefined;
    store.remove();
  });

  /** A finished run with a config, metadata, two epochs and a performance record. */
  const storeRun = async (on: TestServer, sessionId: string) => {
    const telemetry = telemetryClient(on.grpcAddress);
    await register(telemetry, {
      sessionId,
      config: { totalEpochs: 2, batchesPerEpoch: 4, batchSize: 1, classNames: ['a', 'b'] },
      metadata: { tags: ['kept'], note: `the ${sessionId} run` },
    });
    const stream = new TrainerStreamClient(telemetry, sessionId);
    let sequence = 0n;
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let batch = 0; batch < 4; batch++) {
        stream.batch(++sequence, epoch, batch, {
          images: [{ imageBytes: makeJpeg(8, 8), format: 'jpeg', width: 8, height: 8 }],
          predictions: [{ predictedClass: 0 }],
          groundTruth: [batch % 2],
        });
      }
      stream.send(++sequence, {
        case: 'epochData',
        value: { epoch, averageLoss: 1 / (epoch + 1), averageAccuracy: 0.5 },
      });
    }
    stream.send(++sequence, { case: 'performanceData', value: { currentFps: 30 } });
    stream.send(++sequence, {
      case: 'statusUpdate',
      value: { status: TrainingStatus.COMPLETED },
    });
    await stream.waitForAck(sequence, 10_000);
    expect(stream.errors()).toEqual([]);
    stream.end();
    telemetry.close();
  };

  const snapshotOf = async (dashboard: ReturnType<typeof grpcDashboard>, sessionId: string) => {
    const watch = dashboard.watch(sessionId);
    try {
      await waitFor(() => watch.events.length > 0 || watch.error !== undefined, {
        what: `the snapshot of ${sessionId}`,
      });
      expect(watch.error).toBeUndefined();
      const first: WatchSessionResponse | undefined = watch.events[0];
      return first?.event.case === 'snapshot' ? first.event.value : undefined;
    } finally {
      watch.cancel();
    }
  };

  it('lists and opens the damaged run with what decodes, leaves the others whole, and names each damaged value in the log', async () => {
    server = await startTestServer(store.env);
    await storeRun(server, 'whole');
    await storeRun(server, damagedId);
    await server.shutdown();

    const db = (await store.open()).db;
    try {
      await db
        .updateTable('sessions')
        .set({ config: NOT_A_MESSAGE, metadata: NOT_A_MESSAGE })
        .where('id', '=', damagedId)
        .execute();
      // Only the first epoch's record: the second still decodes.
      const [firstEpoch] = await db
        .selectFrom('epochs')
        .select('id')
        .where('session_id', '=', damagedId)
        .orderBy('id')
        .limit(1)
        .execute();
      await db
        .updateTable('epochs')
        .set({ data: NOT_A_MESSAGE })
        .where('id', '=', firstEpoch!.id)
        .execute();
      await db
        .updateTable('performance')
        .set({ data: NOT_A_MESSAGE })
        .where('session_id', '=', damagedId)
        .execute();
    } finally {
      await db.destroy();
    }

    warnings.length = 0;
    server = await startTestServer(store.env, { logger });
    const dashboard = grpcDashboard(server.grpcAddress);
    try {
      const listed = await dashboard.listSessions({});
      expect(listed.sessions.map((session) => session.sessionId).sort()).toEqual([
        damagedId,
        'whole',
      ]);
      const damaged = listed.sessions.find((session) => session.sessionId === damagedId);
      const whole = listed.sessions.find((session) => session.sessionId === 'whole');
      expect(damaged?.config).toBeUndefined();
      expect(damaged?.metadata).toBeUndefined();
      expect(damaged?.status).toBe(TrainingStatus.COMPLETED);
      expect(whole?.config?.totalEpochs).toBe(2);
      expect(whole?.metadata?.note).toBe('the whole run');

      const snapshot = await snapshotOf(dashboard, damagedId);
      expect(snapshot?.session?.sessionId).toBe(damagedId);
      expect(snapshot?.epochs.map((epoch) => epoch.epoch)).toEqual([1]);
      expect(snapshot?.session?.batchesReceived).toBe(8n);
      const intact = await snapshotOf(dashboard, 'whole');
      expect(intact?.epochs.map((epoch) => epoch.epoch)).toEqual([0, 1]);
      expect(intact?.session?.config?.classNames).toEqual(['a', 'b']);

      const named = (what: string) =>
        warnings.filter((line) => line.startsWith(`${what} does not decode (`)).length;
      expect(named(`the config of ${damagedId}`)).toBe(1);
      expect(named(`the metadata of ${damagedId}`)).toBe(1);
      expect(named(`an epoch of ${damagedId}`)).toBe(1);
      expect(named(`a performance record of ${damagedId}`)).toBe(1);
      expect(warnings.filter((line) => line.includes('whole'))).toEqual([]);
    } finally {
      dashboard.close();
    }
  });
});
