import { ErrorCode, TrainingStatus } from '@trainwatch/proto';
import {
  grpcDashboard,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
  HealthySession,
  summaryOf,
} from './harness';

const INT32_MAX = 2 ** 31 - 1;

/**
 * One implausible value must not poison a session: it is refused with an
 * error naming the bound, and the session goes on as if it never came.
 * Each case runs next to a healthy session that must not notice.
 */
describe('implausible input over native gRPC', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;
  let dashboard: DashboardApi;
  let healthy: HealthySession;
  let counter = 0;
  const nextId = () => `implausible-${++counter}`;

  beforeAll(async () => {
    server = await startTestServer({ TRAINER_BUFFER_SIZE: '10' });
    telemetry = telemetryClient(server.grpcAddress);
    dashboard = grpcDashboard(server.grpcAddress);
    healthy = new HealthySession(telemetry);
    await healthy.start();
  });

  afterAll(async () => {
    healthy.end();
    telemetry.close();
    dashboard.close();
    await server.shutdown();
  });

  it('a sequence jump no buffer could produce (1, then 2^63) is SEQUENCE_GAP; later messages are applied, not duplicates', async () => {
    const id = nextId();
    await register(telemetry, { sessionId: id });
    const stream = new TrainerStreamClient(telemetry, id);
    stream.batch(1n, 0, 0);
    stream.batch(1n << 63n, 0, 1);
    stream.batch(2n, 0, 1);
    stream.batch(3n, 0, 2);
    await stream.waitForAck(3n);
    expect(stream.errors()).toEqual([
      expect.objectContaining({ code: ErrorCode.SEQUENCE_GAP, sequence: 1n << 63n }),
    ]);
    expect(stream.errors()[0]?.message).toMatch(
      /at most \d+ is possible for a trainer buffer of 10/,
    );
    expect(stream.acks().map((ack) => [ack.sequence, ack.success, ack.duplicate])).toEqual([
      [1n, true, false],
      [1n << 63n, false, false],
      [2n, true, false],
      [3n, true, false],
    ]);
    expect(await summaryOf(dashboard, id)).toMatchObject({ batchesReceived: 3n, batchIdx: 2 });
    stream.end();
    await healthy.stillAcked();
  });

  it('epoch = batch_idx = 2^31-1 is OUT_OF_SHAPE; the next normal batch is in order', async () => {
    const id = nextId();
    await register(telemetry, { sessionId: id }); // 3 epochs of 100 batches
    const stream = new TrainerStreamClient(telemetry, id);
    stream.batch(1n, 0, 0);
    stream.batch(2n, INT32_MAX, INT32_MAX);
    stream.batch(3n, 0, 100);
    stream.send(4n, {
      case: 'epochData',
      value: { epoch: INT32_MAX, averageLoss: 1, averageAccuracy: 0.5 },
    });
    stream.batch(5n, 0, 1);
    stream.send(6n, {
      case: 'epochData',
      value: { epoch: 0, averageLoss: 1, averageAccuracy: 0.5 },
    });
    await stream.waitForAck(6n);
    expect(stream.errors().map((error) => [error.sequence, error.code])).toEqual([
      [2n, ErrorCode.OUT_OF_SHAPE],
      [3n, ErrorCode.OUT_OF_SHAPE],
      [4n, ErrorCode.OUT_OF_SHAPE],
    ]);
    expect(stream.errors()[0]?.message).toMatch(
      /batch 2147483647 of epoch 2147483647 .*total_epochs 3/,
    );
    expect(stream.errors()[1]?.message).toMatch(/batches_per_epoch 100/);
    expect(await summaryOf(dashboard, id)).toMatchObject({
      batchesReceived: 2n,
      epoch: 0,
      batchIdx: 1,
    });
    stream.end();
    await healthy.stillAcked();
  });

  it('a StatusUpdate with a larger config enlarges the shape', async () => {
    const id = nextId();
    await register(telemetry, { sessionId: id });
    const stream = new TrainerStreamClient(telemetry, id);
    stream.batch(1n, 5, 0);
    stream.send(2n, {
      case: 'statusUpdate',
      value: {
        status: TrainingStatus.RUNNING,
        config: { totalEpochs: 10, batchesPerEpoch: 100, batchSize: 32 },
      },
    });
    stream.batch(3n, 5, 0);
    await stream.waitForAck(3n);
    expect(stream.errors().map((error) => [error.sequence, error.code])).toEqual([
      [1n, ErrorCode.OUT_OF_SHAPE],
    ]);
    expect(stream.acks().find((ack) => ack.sequence === 3n)?.success).toBe(true);
    expect(await summaryOf(dashboard, id)).toMatchObject({ batchesReceived: 1n, epoch: 5 });
    stream.end();
    await healthy.stillAcked();
  });
});
