import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import {
  ConnectionState,
  ErrorCode,
  TrainingStatus,
  HealthCheckResponse_ServingStatus,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  expectCallError,
  grpcDashboard,
  healthCheck,
  makeJpeg,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
} from './harness';

/** TelemetryService over native gRPC from a separate client, against the real server. */
describe('TelemetryService over native gRPC', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;
  let dashboard: DashboardApi;
  let counter = 0;
  const nextId = () => `ingest-${++counter}`;

  beforeAll(async () => {
    server = await startTestServer({
      MAX_IMAGES_PER_BATCH: '4',
      MAX_IMAGE_DIMENSION: '64',
      MAX_MESSAGE_BYTES: '65536',
      HEARTBEAT_INTERVAL_MS: '100',
      STALE_AFTER_MISSED_HEARTBEATS: '2',
    });
    telemetry = telemetryClient(server.grpcAddress);
    dashboard = grpcDashboard(server.grpcAddress);
  });

  afterAll(async () => {
    telemetry.close();
    dashboard.close();
    await server.shutdown();
  });

  async function summary(sessionId: string) {
    return (await dashboard.listSessions()).sessions.find(
      (session) => session.sessionId === sessionId,
    );
  }

  describe('RegisterTrainingSession', () => {
    it('creates a session and answers with the configured limits', async () => {
      const response = await register(telemetry, { sessionId: 'reg-new' });
      expect(response).toMatchObject({
        success: true,
        sessionId: 'reg-new',
        resumed: false,
        lastSequence: 0n,
        resumeToken: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
      expect(response.serverConfig).toMatchObject({
        maxBatchSize: 4,
        maxImageDimension: 64,
        heartbeatIntervalMs: 100,
        bufferSize: 1000,
        maxMessageBytes: 65536,
      });
    });

    it('assigns a UUID when the id is empty', async () => {
      const response = await register(telemetry, { sessionId: '' });
      expect(response.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it.each([
      ['a bad id', { sessionId: 'has space' }, /session_id/],
      ['an over-long id', { sessionId: 'x'.repeat(129) }, /session_id/],
      ['no config', { config: undefined }, /config is required/],
      [
        'zero epochs',
        { config: { totalEpochs: 0, batchesPerEpoch: 1, batchSize: 1 } },
        /total_epochs must be >= 1/,
      ],
      [
        'zero batches',
        { config: { totalEpochs: 1, batchesPerEpoch: 0, batchSize: 1 } },
        /batches_per_epoch/,
      ],
      [
        'too many classes',
        {
          config: {
            totalEpochs: 1,
            batchesPerEpoch: 1,
            batchSize: 1,
            classNames: Array(10_001).fill('c'),
          },
        },
        /class_names has 10001 entries/,
      ],
      ['a long client name', { clientName: 'n'.repeat(129) }, /client_name/],
    ])('INVALID_ARGUMENT for %s', async (_case, init, message) => {
      const error = await expectCallError(register(telemetry, init));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.message).toMatch(message);
    });
  });

  describe('StreamMetrics', () => {
    it('acknowledges every sequenced message with its sequence and batch index; heartbeats are not acked', async () => {
      const id = nextId();
      await register(telemetry, { sessionId: id });
      const stream = new TrainerStreamClient(telemetry, id);
      stream.send(0n, { case: 'heartbeat', value: { sequenceNumber: 1n } });
      stream.batch(1n, 0, 0);
      stream.send(2n, {
        case: 'epochData',
        value: { epoch: 0, averageLoss: 1, averageAccuracy: 0.5 },
      });
      stream.send(3n, {
        case: 'performanceData',
        value: { currentFps: 10, averageFps: 9, resourceUsage: { cpuPercent: 50 } },
      });
      stream.send(4n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
      stream.batch(5n, 1, 3);
      await stream.waitForAck(5n);
      expect(
        stream.acks().map((ack) => [ack.sequence, ack.batchIdx, ack.success, ack.duplicate]),
      ).toEqual([
        [1n, 0, true, false],
        [2n, 0, true, false],
        [3n, 0, true, false],
        [4n, 0, true, false],
        [5n, 3, true, false],
      ]);
      expect(stream.errors()).toEqual([]);
      stream.end();
      await stream.waitForStatus();
      expect(stream.status?.code).toBe(status.OK);
    });

    it('NOT_FOUND when the first message names an unregistered session', async () => {
      const stream = new TrainerStreamClient(telemetry, 'never-registered');
      stream.batch(1n, 0, 0);
      const result = await stream.waitForStatus();
      expect(result.code).toBe(status.NOT_FOUND);
    });

    it('RESOURCE_EXHAUSTED for a message over the size limit, answered by grpc-js itself', async () => {
      const id = nextId();
      await register(telemetry, { sessionId: id });
      const stream = new TrainerStreamClient(telemetry, id);
      stream.batch(1n, 0, 0);
      await stream.waitForAck(1n);
      stream.send(2n, {
        case: 'statusUpdate',
        value: { status: TrainingStatus.RUNNING, message: 'x'.repeat(70_000) },
      });
      const result = await stream.waitForStatus();
      expect(result.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(stream.acks().map((ack) => ack.sequence)).toEqual([1n]);
    });

    describe('per-item problems answer with an ErrorResponse naming the batch; the stream and a healthy session go on', () => {
      const jpeg = makeJpeg(16, 16);
      const image = (bytes = jpeg, width = 16, height = 16) => ({
        imageBytes: bytes,
        format: 'jpeg',
        width,
        height,
        channels: 3,
      });
      it.each([
        [
          'too many images',
          { images: Array(5).fill(image()) },
          ErrorCode.TOO_MANY_IMAGES,
          /5 images/,
        ],
        [
          'a dimension over the limit',
          { images: [image(makeJpeg(65, 8), 65, 8)] },
          ErrorCode.IMAGE_TOO_LARGE,
          /65x8 exceeds/,
        ],
        [
          'bytes that are not JPEG',
          { images: [image(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]))] },
          ErrorCode.NOT_JPEG,
          /magic/,
        ],
        [
          'a declared size that lies',
          { images: [image(jpeg, 8, 8)] },
          ErrorCode.INVALID_ARGUMENT,
          /declared 8x8/,
        ],
        [
          'a negative batch size',
          { batchSize: -1 },
          ErrorCode.INVALID_ARGUMENT,
          /batch_size must be >= 0/,
        ],
      ])('%s', async (_case, init, code, message) => {
        const bad = nextId();
        const good = nextId();
        await register(telemetry, { sessionId: bad });
        await register(telemetry, { sessionId: good });
        const badStream = new TrainerStreamClient(telemetry, bad);
        const goodStream = new TrainerStreamClient(telemetry, good);
        for (let index = 0; index < 10; index++)
          goodStream.batch(BigInt(index + 1), 0, index, { images: [image()] });
        badStream.batch(1n, 0, 0);
        badStream.batch(2n, 0, 1, init);
        badStream.batch(3n, 0, 2);
        await badStream.waitForAck(3n);
        await goodStream.waitForAck(10n);
        expect(badStream.errors()).toEqual([
          expect.objectContaining({
            code,
            sequence: 2n,
            epoch: 0,
            batchIdx: 1,
            message: expect.stringMatching(message),
          }),
        ]);
        expect(badStream.errors()[0]?.message).toContain('batch 1 of epoch 0');
        expect(badStream.acks().map((ack) => [ack.sequence, ack.success])).toEqual([
          [1n, true],
          [2n, false],
          [3n, true],
        ]);
        expect(goodStream.errors()).toEqual([]);
        expect(goodStream.acks().every((ack) => ack.success)).toBe(true);
        expect((await summary(bad))?.batchesReceived).toBe(2n);
        expect((await summary(good))?.batchesReceived).toBe(10n);
        badStream.end();
        goodStream.end();
      });

      it('epoch/batch going backwards is OUT_OF_ORDER', async () => {
        const id = nextId();
        await register(telemetry, { sessionId: id });
        const stream = new TrainerStreamClient(telemetry, id);
        stream.batch(1n, 1, 5);
        stream.batch(2n, 1, 4);
        stream.batch(3n, 0, 9);
        stream.send(4n, {
          case: 'epochData',
          value: { epoch: 1, averageLoss: 1, averageAccuracy: 0.1 },
        });
        stream.send(5n, {
          case: 'epochData',
          value: { epoch: 0, averageLoss: 1, averageAccuracy: 0.1 },
        });
        stream.batch(6n, 2, 0);
        await stream.waitForAck(6n);
        expect(stream.errors().map((error) => [error.sequence, error.code])).toEqual([
          [2n, ErrorCode.OUT_OF_ORDER],
          [3n, ErrorCode.OUT_OF_ORDER],
          [5n, ErrorCode.OUT_OF_ORDER],
        ]);
        expect(
          stream
            .acks()
            .filter((ack) => ack.success)
            .map((ack) => ack.sequence),
        ).toEqual([1n, 4n, 6n]);
        stream.end();
      });

      it('a CommandResult for a command never issued is UNKNOWN_COMMAND; a foreign session id is UNKNOWN_SESSION', async () => {
        const id = nextId();
        await register(telemetry, { sessionId: id });
        const stream = new TrainerStreamClient(telemetry, id);
        stream.batch(1n, 0, 0);
        stream.send(2n, { case: 'commandResult', value: { commandId: 'made-up', success: true } });
        stream.send(3n, { case: 'batchData', value: { batchIdx: 1 } }, 'someone-else');
        stream.batch(4n, 0, 2);
        await stream.waitForAck(4n);
        expect(stream.errors().map((error) => [error.sequence, error.code])).toEqual([
          [2n, ErrorCode.UNKNOWN_COMMAND],
          [3n, ErrorCode.UNKNOWN_SESSION],
        ]);
        stream.end();
      });
    });

    it('reconnect with replayed sequences: nothing applied twice, nothing missing', async () => {
      const id = nextId();
      await register(telemetry, { sessionId: id });
      const first = new TrainerStreamClient(telemetry, id);
      for (let index = 0; index < 10; index++) first.batch(BigInt(index + 1), 0, index);
      await first.waitForAck(10n);
      first.call.cancel();
      await waitFor(async () => (await summary(id))?.connection === ConnectionState.DISCONNECTED, {
        what: 'disconnected',
      });

      const again = await register(telemetry, { sessionId: id });
      expect(again).toMatchObject({ resumed: true, lastSequence: 10n });
      const second = new TrainerStreamClient(telemetry, id);
      // The SDK replays from an older point than the server had applied (e.g. acks lost in flight).
      for (let index = 6; index < 15; index++) second.batch(BigInt(index + 1), 0, index);
      await second.waitForAck(15n);
      expect(second.acks().map((ack) => [ack.sequence, ack.duplicate])).toEqual([
        [7n, true],
        [8n, true],
        [9n, true],
        [10n, true],
        [11n, false],
        [12n, false],
        [13n, false],
        [14n, false],
        [15n, false],
      ]);
      expect(second.errors()).toEqual([]);
      const watch = dashboard.watch(id);
      const snapshot = await waitFor(() => watch.events[0], { what: 'snapshot' });
      if (snapshot.event.case !== 'snapshot') throw new Error('first event must be the snapshot');
      expect(snapshot.event.value.session?.batchesReceived).toBe(15n);
      expect(snapshot.event.value.session?.connection).toBe(ConnectionState.CONNECTED);
      expect(snapshot.event.value.lossHistory?.steps).toEqual(
        Array.from({ length: 15 }, (_, index) => BigInt(index)),
      );
      watch.cancel();
      second.end();
    });

    it("a second stream with the session's resume token replaces the first, which ends ABORTED saying why", async () => {
      const id = nextId();
      const { resumeToken } = await register(telemetry, { sessionId: id });
      const first = new TrainerStreamClient(telemetry, id, resumeToken);
      first.batch(1n, 0, 0);
      await first.waitForAck(1n);
      const second = new TrainerStreamClient(telemetry, id, resumeToken);
      second.batch(2n, 0, 1);
      await second.waitForAck(2n);
      const ended = await first.waitForStatus();
      expect([ended.code, ended.details]).toEqual([
        status.ABORTED,
        'replaced by a newer stream of the same trainer',
      ]);
      expect((await summary(id))?.connection).toBe(ConnectionState.CONNECTED);
      second.end();
    });

    it('silence marks the session STALE; the next message makes it CONNECTED again', async () => {
      const id = nextId();
      await register(telemetry, { sessionId: id });
      const stream = new TrainerStreamClient(telemetry, id);
      stream.batch(1n, 0, 0);
      await stream.waitForAck(1n);
      await waitFor(async () => (await summary(id))?.connection === ConnectionState.STALE, {
        what: 'stale',
        timeoutMs: 3000,
      });
      stream.send(0n, { case: 'heartbeat', value: { sequenceNumber: 1n } });
      await waitFor(async () => (await summary(id))?.connection === ConnectionState.CONNECTED, {
        what: 'connected again',
      });
      stream.send(2n, {
        case: 'statusUpdate',
        value: { status: TrainingStatus.COMPLETED, message: 'done' },
      });
      await stream.waitForAck(2n);
      stream.end();
      await waitFor(async () => (await summary(id))?.connection === ConnectionState.CLOSED, {
        what: 'closed after completion',
      });
      expect((await summary(id))?.status).toBe(TrainingStatus.COMPLETED);
    });

    it('an invalid status transition is rejected with an ErrorResponse', async () => {
      const id = nextId();
      await register(telemetry, { sessionId: id });
      const stream = new TrainerStreamClient(telemetry, id);
      stream.send(1n, {
        case: 'statusUpdate',
        value: { status: TrainingStatus.FAILED, message: 'oom' },
      });
      stream.send(2n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
      await stream.waitForAck(2n);
      expect(stream.errors()).toEqual([
        expect.objectContaining({ sequence: 2n, code: ErrorCode.INVALID_ARGUMENT }),
      ]);
      expect(stream.errors()[0]?.message).toMatch(/FAILED to RUNNING/);
      stream.end();
    });
  });

  it('bytes that are not a protobuf message fail that call only; the server keeps serving', async () => {
    const raw = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
    const call = raw.makeBidiStreamRequest(
      '/telemetry.v1.TelemetryService/StreamMetrics',
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
    );
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => undefined);
    call.write(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    const result = await ended;
    // grpc-js answers undecodable bytes itself, before any handler runs.
    expect([result.code, result.details]).toEqual([
      grpc.status.INTERNAL,
      'Error deserializing request',
    ]);
    raw.close();
    expect((await healthCheck(server.grpcAddress)).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    expect((await register(telemetry, { sessionId: nextId() })).success).toBe(true);
  });

  it('grpc.health.v1 answers SERVING, NOT_FOUND for an unknown service', async () => {
    expect((await healthCheck(server.grpcAddress)).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    expect((await healthCheck(server.grpcAddress, 'telemetry.v1.TelemetryService')).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    expect((await expectCallError(healthCheck(server.grpcAddress, 'nope'))).code).toBe(
      status.NOT_FOUND,
    );
  });

  it('/healthz and /metrics answer over HTTP', async () => {
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', sessions: expect.any(Number) });
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^trainwatch_sessions \d+$/m);
    expect(metrics).toMatch(/^trainwatch_messages_in_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^trainwatch_bytes_in_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^trainwatch_duplicate_messages_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^trainwatch_command_latency_ms_count \d+$/m);
  });
});
