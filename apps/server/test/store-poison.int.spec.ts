import { create } from '@bufbuild/protobuf';
import { CommandType, ErrorCode, MetricsRequestSchema, TrainingStatus } from '@trainwatch/proto';
import { NUL_REPLACEMENT } from '../src/store/postgres-text';
import {
  expectCallError,
  grpcDashboard,
  healthCheck,
  makeJpeg,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';
import { STORE_ENGINES, type TestStore } from './store-engines';

/** Text with U+0000 in it, as any protobuf string may carry. */
const nul = (text: string) => `${text}\u0000end`;

const HUGE = (1n << 63n) - 1n;
const jpeg = makeJpeg(8, 8);

/**
 * One message no store could hold must not stop the commits that hold
 * every other trainer's acks. PostgreSQL's text cannot hold U+0000, nor its
 * bigint a time near 2^63 read as a number: one statement naming either
 * failed, and with it every commit after. A run whose every text carries
 * U+0000 is stored like any other on both engines (PostgreSQL keeps U+FFFD
 * in its place); a time or step past 2^53 is refused with the bound named.
 */
describe.each(STORE_ENGINES)('one message no store can hold, on %s', (name, makeFixture) => {
  const fixture = makeFixture();
  let store: TestStore | undefined;
  let server: TestServer | undefined;

  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  afterEach(async () => {
    await server?.shutdown();
    server = undefined;
    store?.remove();
  });

  it('stores a run whose every text carries U+0000; the store stays up and the other trainer is acked', async () => {
    store = await fixture.newStore();
    server = await startTestServer({ ...store.env });
    const telemetry = telemetryClient(server.grpcAddress);
    const grpc = grpcDashboard(server.grpcAddress);
    const stored = name === 'SQLite' ? nul : (text: string) => `${text}${NUL_REPLACEMENT}end`;
    try {
      const other = await register(telemetry, { sessionId: 'other' });
      const otherStream = new TrainerStreamClient(telemetry, 'other', other.resumeToken);
      const registered = await register(telemetry, {
        sessionId: 'nul',
        clientName: nul('client'),
        clientVersion: nul('1'),
        config: {
          totalEpochs: 1,
          batchesPerEpoch: 10,
          batchSize: 1,
          modelName: nul('model'),
          datasetName: nul('data'),
          classNames: [nul('cat'), 'dog'],
        },
        metadata: { tags: [nul('tag')], note: nul('note') },
      });
      const stream = new TrainerStreamClient(telemetry, 'nul', registered.resumeToken);
      stream.send(1n, {
        case: 'statusUpdate',
        value: { status: TrainingStatus.RUNNING, message: nul('status') },
      });
      stream.batch(2n, 0, 0, { batchLoss: 0.5 });
      stream.send(3n, {
        case: 'epochData',
        value: { epoch: 0, averageLoss: 0.5, averageAccuracy: 0.5 },
      });
      await stream.waitForAck(3n);
      // Not answered by this trainer: it times out, and its audit entry is stored all the same.
      const command = await expectCallError(
        grpc.sendCommand({
          sessionId: 'nul',
          type: CommandType.PAUSE,
          issuedBy: nul('ada'),
          reason: nul('why'),
          timeoutMs: 200,
        }),
      );
      expect(command.message).toMatch(/did not answer within 200 ms/);
      // A display name refuses control characters outright.
      const renamed = await expectCallError(
        grpc.updateSession({ sessionId: 'nul', name: nul('name') }),
      );
      expect(renamed.message).toMatch(/control characters/);
      // The other trainer, after all of that was committed: still acked.
      otherStream.batch(1n, 0, 0);
      await otherStream.waitForAck(1n);
      expect(stream.errors()).toEqual([]);
      expect((await healthCheck(server.grpcAddress)).status).toBe(1);

      // What the store holds, read back after a restart.
      stream.end();
      otherStream.end();
      await server.shutdown();
      server = await startTestServer({ ...store.env });
      const again = grpcDashboard(server.grpcAddress);
      try {
        const [run] = (await again.listSessions({ sessionIds: ['nul'] })).sessions;
        expect(run).toMatchObject({
          clientName: stored('client'),
          clientVersion: stored('1'),
          statusMessage: stored('status'),
          latestLoss: 0.5,
        });
        // Kept as protobuf bytes: as sent on either engine.
        expect(run?.config?.modelName).toBe(nul('model'));
        expect(run?.metadata?.tags).toEqual([nul('tag')]);
        expect(run?.metadata?.note).toBe(nul('note'));
        // Found by the text it was sent with.
        const found = await again.listSessions({ text: 'model\u0000' });
        expect(found.sessions.map((session) => session.sessionId)).toEqual(['nul']);
        const series = await again.querySeries({ sessionId: 'nul', names: ['loss'] });
        expect(series.series[0]?.lasts).toEqual([0.5]);
      } finally {
        again.close();
      }
    } finally {
      grpc.close();
      telemetry.close();
    }
  });
  it('refuses times and steps past 2^53 with the bound named; the next message and the other trainer are acked', async () => {
    store = await fixture.newStore();
    server = await startTestServer({ ...store.env });
    const telemetry = telemetryClient(server.grpcAddress);
    try {
      const other = await register(telemetry, { sessionId: 'other' });
      const otherStream = new TrainerStreamClient(telemetry, 'other', other.resumeToken);
      const registered = await register(telemetry, {
        sessionId: 'times',
        config: { totalEpochs: 2, batchesPerEpoch: 100, batchSize: 1 },
      });
      const stream = new TrainerStreamClient(telemetry, 'times', registered.resumeToken);
      const send = (
        sequence: bigint,
        payload: Parameters<TrainerStreamClient['send']>[1],
        timestampMs = BigInt(Date.now()),
      ) =>
        stream.call.write(
          create(MetricsRequestSchema, { sessionId: 'times', sequence, timestampMs, payload }),
        );
      // Each of these failed every PostgreSQL commit before they were refused.
      send(
        1n,
        { case: 'epochData', value: { epoch: 0, averageLoss: 1, averageAccuracy: 1 } },
        HUGE,
      );
      send(2n, {
        case: 'batchData',
        value: {
          epoch: 0,
          batchIdx: 0,
          batchSize: 1,
          batchLoss: 1,
          timestampMs: HUGE,
          images: [{ imageBytes: jpeg, format: 'jpeg', width: 8, height: 8, channels: 3 }],
        },
      });
      send(3n, { case: 'scalars', value: { step: HUGE, values: { a: 1 } } });
      send(4n, { case: 'scalars', value: { step: -1n, values: { a: 1 } } });
      send(5n, { case: 'performanceData', value: { currentFps: 1 } }, -HUGE);
      stream.batch(6n, 0, 1, { batchLoss: 0.25 });
      await stream.waitForAck(6n);
      otherStream.batch(1n, 0, 0);
      await otherStream.waitForAck(1n);
      expect(stream.acks().map((ack) => [ack.sequence, ack.success])).toEqual([
        [1n, false],
        [2n, false],
        [3n, false],
        [4n, false],
        [5n, false],
        [6n, true],
      ]);
      expect(stream.errors().map((error) => [error.code, error.message])).toEqual([
        [
          ErrorCode.INVALID_ARGUMENT,
          `timestamp_ms ${HUGE} is outside ±9007199254740991 (milliseconds since 1970)`,
        ],
        [
          ErrorCode.INVALID_ARGUMENT,
          `batchData timestamp_ms ${HUGE} is outside ±9007199254740991 (milliseconds since 1970)`,
        ],
        [ErrorCode.INVALID_ARGUMENT, `scalars step ${HUGE} is outside 0 to 9007199254740991`],
        [ErrorCode.INVALID_ARGUMENT, 'scalars step -1 is outside 0 to 9007199254740991'],
        [
          ErrorCode.INVALID_ARGUMENT,
          `timestamp_ms ${-HUGE} is outside ±9007199254740991 (milliseconds since 1970)`,
        ],
      ]);
      expect((await healthCheck(server.grpcAddress)).status).toBe(1);
      stream.end();
      otherStream.end();
    } finally {
      telemetry.close();
    }
  });
});
