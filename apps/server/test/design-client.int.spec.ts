import {
  CommandState,
  CommandType,
  ConnectionState,
  ErrorCode,
  TrainingStatus,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  grpcDashboard,
  register,
  scalarEvents,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
  HealthySession,
  summaryOf,
} from './harness';

/**
 * A client written from the design's seed reference alone: it never numbers
 * its messages and never sends a CommandResult; it answers commands by
 * reporting its new status. Plus a trainer that answers with a
 * CommandResult only. Each case runs next to a healthy session.
 */
describe('clients that do not number messages or answer commands', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;
  let dashboard: DashboardApi;
  let healthy: HealthySession;
  let counter = 0;
  const nextId = () => `design-${++counter}`;

  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: '5000' });
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

  it('messages without a sequence are applied as they come and acknowledged by batch_idx', async () => {
    const id = nextId();
    await register(telemetry, { sessionId: id });
    const watch = dashboard.watch(id);
    await waitFor(() => watch.events[0], { what: 'snapshot' });
    const stream = new TrainerStreamClient(telemetry, id);
    stream.send(0n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    for (let index = 0; index < 3; index++) stream.batch(0n, 0, index);
    stream.batch(0n, 0, 1); // going backwards is still checked
    await waitFor(() => stream.acks().length === 5, { what: 'five acks' });
    expect(stream.acks().map((ack) => [ack.sequence, ack.batchIdx, ack.success])).toEqual([
      [0n, 0, true],
      [0n, 0, true],
      [0n, 1, true],
      [0n, 2, true],
      [0n, 1, false],
    ]);
    expect(stream.errors().map((error) => error.code)).toEqual([ErrorCode.OUT_OF_ORDER]);
    const batches = await waitFor(
      () => {
        const seen = scalarEvents(watch).flatMap((event) =>
          event.event.case === 'batch' ? [event.event.value.batchIdx] : [],
        );
        return seen.length === 3 && seen;
      },
      { what: 'three batches at the watcher' },
    );
    expect(batches).toEqual([0, 1, 2]);
    expect(await summaryOf(dashboard, id)).toMatchObject({
      batchesReceived: 3n,
      status: TrainingStatus.RUNNING,
    });
    watch.cancel();
    stream.end();
    await healthy.stillAcked();
  });

  it('a StatusUpdate reaching the state a command asked for completes it: PAUSE, RESUME, STOP; then CLOSED', async () => {
    const id = nextId();
    await register(telemetry, { sessionId: id });
    const stream = new TrainerStreamClient(telemetry, id);
    stream.send(0n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await waitFor(() => stream.acks().length === 1, { what: 'first ack' });
    const steps: [CommandType, TrainingStatus][] = [
      [CommandType.PAUSE, TrainingStatus.PAUSED],
      [CommandType.RESUME, TrainingStatus.RUNNING],
      [CommandType.STOP, TrainingStatus.COMPLETED],
    ];
    for (const [index, [type, reached]] of steps.entries()) {
      const started = Date.now();
      const response = dashboard.sendCommand({ sessionId: id, type });
      await waitFor(() => stream.commands().length === index + 1, { what: 'command delivered' });
      stream.send(0n, { case: 'statusUpdate', value: { status: reached } });
      const answered = await response;
      expect(answered.entry).toMatchObject({ type, state: CommandState.SUCCEEDED });
      expect(answered.status).toBe(reached);
      // Answered by the status report, not by the 5 s timeout.
      expect(Date.now() - started).toBeLessThan(4000);
    }
    expect(stream.errors()).toEqual([]);
    stream.end();
    await waitFor(
      async () => (await summaryOf(dashboard, id))?.connection === ConnectionState.CLOSED,
      {
        what: 'CLOSED after the run completed',
      },
    );
    expect((await summaryOf(dashboard, id))?.status).toBe(TrainingStatus.COMPLETED);
    await healthy.stillAcked();
  });

  it("a CommandResult's status changes the session's status and tells watchers", async () => {
    const id = nextId();
    await register(telemetry, { sessionId: id });
    const stream = new TrainerStreamClient(telemetry, id);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await stream.waitForAck(1n);
    const watch = dashboard.watch(id);
    await waitFor(() => watch.events[0], { what: 'snapshot' });
    const response = dashboard.sendCommand({ sessionId: id, type: CommandType.PAUSE });
    const command = await waitFor(() => stream.commands()[0], { what: 'command delivered' });
    stream.send(2n, {
      case: 'commandResult',
      value: {
        commandId: command.commandId,
        success: true,
        message: 'paused',
        status: TrainingStatus.PAUSED,
      },
    });
    expect((await response).status).toBe(TrainingStatus.PAUSED);
    const event = await waitFor(
      () =>
        scalarEvents(watch).find(
          (item) =>
            item.event.case === 'status' && item.event.value.status === TrainingStatus.PAUSED,
        ),
      { what: 'StatusEvent PAUSED' },
    );
    expect(event).toBeDefined();
    expect((await summaryOf(dashboard, id))?.status).toBe(TrainingStatus.PAUSED);
    watch.cancel();
    stream.end();
    await healthy.stillAcked();
  });

  it('a trainer that reports the status first and the CommandResult after gets no UNKNOWN_COMMAND; the audit keeps its answer', async () => {
    const id = nextId();
    await register(telemetry, { sessionId: id });
    const stream = new TrainerStreamClient(telemetry, id);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await stream.waitForAck(1n);
    const response = dashboard.sendCommand({ sessionId: id, type: CommandType.PAUSE });
    const command = await waitFor(() => stream.commands()[0], { what: 'command delivered' });
    stream.send(2n, { case: 'statusUpdate', value: { status: TrainingStatus.PAUSED } });
    stream.send(3n, {
      case: 'commandResult',
      value: {
        commandId: command.commandId,
        success: true,
        message: 'paused before the next batch',
        status: TrainingStatus.PAUSED,
      },
    });
    await stream.waitForAck(3n);
    expect((await response).entry?.state).toBe(CommandState.SUCCEEDED);
    expect(stream.errors()).toEqual([]);
    const watch = dashboard.watch(id);
    const snapshot = await waitFor(() => watch.events[0], { what: 'snapshot' });
    if (snapshot.event.case !== 'snapshot') throw new Error('first event must be the snapshot');
    expect(snapshot.event.value.commands).toEqual([
      expect.objectContaining({
        commandId: command.commandId,
        state: CommandState.SUCCEEDED,
        resultMessage: 'paused before the next batch',
      }),
    ]);
    watch.cancel();
    stream.end();
    await healthy.stillAcked();
  });
});
