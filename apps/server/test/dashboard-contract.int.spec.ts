import { status } from '@grpc/grpc-js';
import {
  CommandState,
  CommandType,
  ConnectionState,
  TrainingStatus,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { FanOutService } from '../src/fan-out/fan-out.service';
import {
  expectCallError,
  grpcDashboard,
  grpcWebDashboard,
  makeJpeg,
  register,
  scalarEvents,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
} from './harness';

/**
 * One contract, two bindings: every case runs against DashboardService over
 * native gRPC (:grpc port) and over gRPC-Web (connect-web against the HTTP port).
 */
describe.each([
  ['native gRPC', (server: TestServer) => grpcDashboard(server.grpcAddress)],
  ['gRPC-Web', (server: TestServer) => grpcWebDashboard(server.httpUrl)],
])('DashboardService contract over %s', (_name, connect) => {
  let server: TestServer;
  let dashboard: DashboardApi;
  let telemetry: ReturnType<typeof telemetryClient>;
  let counter = 0;
  const nextId = () => `contract-${_name.replace(/\W/g, '')}-${++counter}`;

  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: '300', HEARTBEAT_INTERVAL_MS: '200' });
    dashboard = connect(server);
    telemetry = telemetryClient(server.grpcAddress);
  });

  afterAll(async () => {
    dashboard.close();
    telemetry.close();
    await server.shutdown();
  });

  async function trainer(sessionId = nextId()): Promise<TrainerStreamClient> {
    await register(telemetry, { sessionId });
    const stream = new TrainerStreamClient(telemetry, sessionId);
    // The first message attaches the stream; wait for its ack so the session is CONNECTED.
    stream.send(1n, {
      case: 'statusUpdate',
      value: { status: TrainingStatus.RUNNING, message: 'go' },
    });
    await stream.waitForAck(1n);
    return stream;
  }

  it('ListSessions returns every session, newest first, with its summary', async () => {
    const first = await trainer();
    const second = await trainer();
    second.batch(2n, 0, 7, { batchLoss: 0.25 });
    await second.waitForAck(2n);
    const { sessions } = await dashboard.listSessions();
    const ids = sessions.map((session) => session.sessionId);
    expect(ids.indexOf(second.sessionId)).toBeLessThan(ids.indexOf(first.sessionId));
    const summary = sessions.find((session) => session.sessionId === second.sessionId);
    expect(summary).toMatchObject({
      status: TrainingStatus.RUNNING,
      connection: ConnectionState.CONNECTED,
      batchIdx: 7,
      latestLoss: 0.25,
      batchesReceived: 1n,
      clientName: 'spec',
    });
    first.end();
    second.end();
  });

  it('WatchSession: NOT_FOUND for an unknown session', async () => {
    const watch = dashboard.watch('no-such-session');
    await waitFor(() => watch.ended, { what: 'watch to end' });
    expect(watch.error?.code).toBe(status.NOT_FOUND);
    expect(watch.events).toHaveLength(0);
  });

  it('answers NOT_FOUND for a session id of 60,000-100,000 characters, quoting it cut short', async () => {
    // A status message travels in a header: quoted whole, the answer went past what a client
    // accepts and the call never ended (gRPC-Web: 60,000 characters keep the request under its
    // 64 KiB body bound).
    const sessionId = 'x'.repeat(_name === 'gRPC-Web' ? 60_000 : 100_000);
    const answered = (call: Promise<unknown>) =>
      Promise.race([
        expectCallError(call),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref(),
        ),
      ]);
    for (const call of [
      () => dashboard.querySeries({ sessionId }),
      () => dashboard.getImageFrames({ sessionId }),
      () => dashboard.updateSession({ sessionId, name: 'n' }),
      () => dashboard.deleteSession({ sessionId }),
      () => dashboard.sendCommand({ sessionId, type: CommandType.STOP }),
    ]) {
      const error = await answered(call());
      expect(error.code).toBe(status.NOT_FOUND);
      expect(error.message.length).toBeLessThanOrEqual(1024);
      expect(error.message).toMatch(/^session "xxx.*… \(\d+ more characters left out\)$/);
    }
  });

  it('WatchSession: a late joiner gets the snapshot (history + latest images), then deltas with no gap or repeat', async () => {
    const stream = await trainer();
    const jpeg = makeJpeg(8, 6);
    for (let index = 0; index < 20; index++) {
      stream.batch(BigInt(index + 2), 0, index, {
        images:
          index === 19
            ? [{ imageBytes: jpeg, format: 'jpeg', width: 8, height: 6, channels: 3 }]
            : [],
        predictions: index === 19 ? [{ predictedClass: 1, confidence: 0.9 }] : [],
        groundTruth: index === 19 ? [1] : [],
      });
    }
    stream.send(22n, {
      case: 'epochData',
      value: { epoch: 0, averageLoss: 0.5, averageAccuracy: 0.75 },
    });
    await stream.waitForAck(22n);

    const watch = dashboard.watch(stream.sessionId);
    await waitFor(() => watch.events.length > 0, { what: 'snapshot' });
    const first = watch.events[0] as WatchSessionResponse;
    expect(first.event.case).toBe('snapshot');
    if (first.event.case !== 'snapshot') throw new Error('unreachable');
    const snapshot = first.event.value;
    expect(snapshot.session?.sessionId).toBe(stream.sessionId);
    expect(snapshot.lossHistory?.totalPoints).toBe(20n);
    expect(snapshot.lossHistory?.steps).toEqual(
      Array.from({ length: 20 }, (_, index) => BigInt(index)),
    );
    expect(snapshot.epochs.map((epoch) => epoch.averageAccuracy)).toEqual([0.75]);
    expect(snapshot.latestImages?.batchIdx).toBe(19);
    expect(Buffer.from(snapshot.latestImages?.images[0]?.imageBytes ?? [])).toEqual(
      Buffer.from(jpeg),
    );
    expect(snapshot.latestImages?.predictions[0]?.confidence).toBeCloseTo(0.9);

    for (let index = 20; index < 30; index++) stream.batch(BigInt(index + 3), 0, index);
    stream.send(33n, { case: 'performanceData', value: { currentFps: 30, averageFps: 29 } });
    await waitFor(() => scalarEvents(watch).length >= 11, { what: 'deltas' });
    const cursors = scalarEvents(watch).map((event) => event.cursor);
    expect(cursors).toEqual(
      Array.from({ length: 11 }, (_, index) => first.cursor + BigInt(index + 1)),
    );
    const batches = scalarEvents(watch).flatMap((event) =>
      event.event.case === 'batch' ? [event.event.value.batchIdx] : [],
    );
    expect(batches).toEqual(Array.from({ length: 10 }, (_, index) => index + 20));
    expect(scalarEvents(watch).at(-1)?.event.case).toBe('performance');
    watch.cancel();
    stream.end();
  });

  it('WatchSession: status and connection changes arrive as StatusEvents (disconnected when the stream ends)', async () => {
    const stream = await trainer();
    const watch = dashboard.watch(stream.sessionId);
    await waitFor(() => watch.events.length > 0, { what: 'snapshot' });
    stream.send(2n, {
      case: 'statusUpdate',
      value: { status: TrainingStatus.PAUSED, message: 'hold' },
    });
    await stream.waitForAck(2n);
    stream.end();
    const statuses = await waitFor(
      () => {
        const found = scalarEvents(watch).flatMap((event) =>
          event.event.case === 'status' ? [event.event.value] : [],
        );
        return found.length >= 2 ? found : undefined;
      },
      { what: 'two status events' },
    );
    expect(statuses[0]).toMatchObject({
      status: TrainingStatus.PAUSED,
      message: 'hold',
      connection: ConnectionState.CONNECTED,
    });
    expect(statuses[1]).toMatchObject({
      status: TrainingStatus.PAUSED,
      connection: ConnectionState.DISCONNECTED,
    });
    watch.cancel();
  });

  it('WatchSession: an idle stream gets keepalives carrying the last cursor; cancelling releases the watcher', async () => {
    const stream = await trainer();
    const watch = dashboard.watch(stream.sessionId);
    const keepalive = await waitFor(
      () => watch.events.find((event) => event.event.case === 'keepalive'),
      {
        what: 'keepalive',
        timeoutMs: 3000,
      },
    );
    expect(keepalive.cursor).toBe(watch.events[0]?.cursor);
    const fanOut = server.app.get(FanOutService);
    expect(fanOut.watchersOf(stream.sessionId)).toHaveLength(1);
    // A client that goes away releases its watcher on the server.
    watch.cancel();
    await waitFor(() => fanOut.watchersOf(stream.sessionId).length === 0, {
      what: 'watcher released',
    });
    stream.end();
  });

  it('SendCommand: routed to the trainer, resolves with its result, audited for watchers', async () => {
    const stream = await trainer();
    const watch = dashboard.watch(stream.sessionId);
    await waitFor(() => watch.events.length > 0, { what: 'snapshot' });
    const pending = dashboard.sendCommand({
      sessionId: stream.sessionId,
      type: CommandType.PAUSE,
      issuedBy: 'alice',
    });
    const command = await waitFor(() => stream.commands()[0], { what: 'command at the trainer' });
    expect(command).toMatchObject({ type: CommandType.PAUSE, issuedBy: 'alice' });
    expect(command.commandId).not.toBe('');
    stream.send(2n, {
      case: 'commandResult',
      value: {
        commandId: command.commandId,
        success: true,
        message: 'paused',
        status: TrainingStatus.PAUSED,
      },
    });
    const response = await pending;
    expect(response.status).toBe(TrainingStatus.PAUSED);
    expect(response.entry).toMatchObject({
      commandId: command.commandId,
      state: CommandState.SUCCEEDED,
      resultMessage: 'paused',
      issuedBy: 'alice',
    });
    const audit = await waitFor(
      () => {
        const entries = scalarEvents(watch).flatMap((event) =>
          event.event.case === 'command' ? [event.event.value] : [],
        );
        return entries.length >= 2 ? entries : undefined;
      },
      { what: 'audit events' },
    );
    expect(audit.map((entry) => entry.state)).toEqual([
      CommandState.PENDING,
      CommandState.SUCCEEDED,
    ]);
    watch.cancel();
    stream.end();
  });

  it('SendCommand: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION and DEADLINE_EXCEEDED', async () => {
    const stream = await trainer();
    expect(
      (
        await expectCallError(
          dashboard.sendCommand({ sessionId: stream.sessionId, type: CommandType.UNSPECIFIED }),
        )
      ).code,
    ).toBe(status.INVALID_ARGUMENT);
    expect(
      (
        await expectCallError(
          dashboard.sendCommand({ sessionId: 'nobody', type: CommandType.STOP }),
        )
      ).code,
    ).toBe(status.NOT_FOUND);
    const timedOut = await expectCallError(
      dashboard.sendCommand({
        sessionId: stream.sessionId,
        type: CommandType.STOP,
        timeoutMs: 100,
      }),
    );
    expect(timedOut.code).toBe(status.DEADLINE_EXCEEDED);
    stream.end();
    await waitFor(
      async () =>
        (await dashboard.listSessions()).sessions.find(
          (session) => session.sessionId === stream.sessionId,
        )?.connection === ConnectionState.DISCONNECTED,
      { what: 'disconnected' },
    );
    const offline = await expectCallError(
      dashboard.sendCommand({ sessionId: stream.sessionId, type: CommandType.RESUME }),
    );
    expect(offline.code).toBe(status.FAILED_PRECONDITION);
  });
});
