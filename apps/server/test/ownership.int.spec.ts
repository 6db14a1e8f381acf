import { status } from '@grpc/grpc-js';
import { CommandType, ConnectionState, ErrorCode } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  expectCallError,
  grpcDashboard,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
  type WatchHandle,
  HealthySession,
  summaryOf,
} from './harness';

/**
 * Who may write a session: the trainer holding its resume token while its
 * stream is open, anyone (knowing the id) while none is. Every case runs
 * next to a healthy session that must not notice.
 */
describe('session ownership over native gRPC', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;
  let stranger: ReturnType<typeof telemetryClient>;
  let dashboard: DashboardApi;
  let healthy: HealthySession;
  let counter = 0;
  const nextId = () => `owned-${++counter}`;

  beforeAll(async () => {
    server = await startTestServer();
    telemetry = telemetryClient(server.grpcAddress);
    // A second channel, as a second process would have.
    stranger = telemetryClient(server.grpcAddress);
    dashboard = grpcDashboard(server.grpcAddress);
    healthy = new HealthySession(telemetry);
    await healthy.start();
  });

  afterAll(async () => {
    healthy.end();
    telemetry.close();
    stranger.close();
    dashboard.close();
    await server.shutdown();
  });

  function statusEvents(watch: WatchHandle) {
    return watch.events.flatMap((event) =>
      event.event.case === 'status' ? [event.event.value] : [],
    );
  }

  it('a stranger can neither re-register nor stream into a live session; the owner keeps it and is told', async () => {
    const id = nextId();
    const { resumeToken } = await register(telemetry, { sessionId: id, clientName: 'owner' });
    const owner = new TrainerStreamClient(telemetry, id, resumeToken);
    owner.batch(1n, 0, 0);
    await owner.waitForAck(1n);
    const watch = dashboard.watch(id);
    await waitFor(() => watch.events[0], { what: 'snapshot' });

    const refused = await expectCallError(
      register(stranger, { sessionId: id, clientName: 'intruder' }),
    );
    expect(refused.code).toBe(status.ALREADY_EXISTS);
    expect(refused.message).toMatch(/another trainer is streaming to session/);
    expect(refused.message).toMatch(/its own session id/);

    for (const token of [undefined, 'not-the-token']) {
      const intruder = new TrainerStreamClient(stranger, id, token);
      // Its huge sequence would have made every later message of the owner a "duplicate".
      intruder.batch(1n << 62n, 0, 50);
      const ended = await intruder.waitForStatus();
      expect(ended.code).toBe(status.ALREADY_EXISTS);
      expect(intruder.acks()).toEqual([]);
    }

    // The owner's stream is untouched: still open, its next message applied (not a duplicate).
    owner.batch(2n, 0, 1);
    const ack = await owner.waitForAck(2n);
    expect([ack.success, ack.duplicate]).toEqual([true, false]);
    expect(owner.status).toBeUndefined();
    // Told once (refusals within a second are one notice), and the stream goes on.
    const conflicts = owner.errors().filter((error) => error.code === ErrorCode.SESSION_CONFLICT);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]?.message).toMatch(/intruder/);
    // Commands still reach the owner.
    const command = dashboard.sendCommand({ sessionId: id, type: CommandType.PAUSE });
    const delivered = await waitFor(() => owner.commands()[0], { what: 'command at the owner' });
    owner.send(3n, {
      case: 'commandResult',
      value: { commandId: delivered.commandId, success: true },
    });
    expect((await command).entry?.commandId).toBe(delivered.commandId);

    const after = await summaryOf(dashboard, id);
    expect(after?.batchesReceived).toBe(2n);
    expect(after?.writerConflict).toMatchObject({
      clientName: 'intruder',
      peer: expect.stringMatching(/127\.0\.0\.1/),
      refusals: 3,
    });
    const conflictEvent = await waitFor(
      () => statusEvents(watch).find((event) => event.writerConflict !== undefined),
      { what: 'StatusEvent with the writer conflict' },
    );
    expect(conflictEvent.writerConflict?.clientName).toBe('intruder');

    owner.end();
    await waitFor(async () => (await summaryOf(dashboard, id))?.writerConflict === undefined, {
      what: 'conflict cleared once the owner is gone',
    });
    watch.cancel();
    await healthy.stillAcked();
  });

  it('two trainers sharing a session id: the second is refused once and stops, no flapping', async () => {
    const id = nextId();
    const first = await register(telemetry, { sessionId: id });
    const firstStream = new TrainerStreamClient(telemetry, id, first.resumeToken);
    firstStream.batch(1n, 0, 0);
    await firstStream.waitForAck(1n);
    // The second process starts the same run id and gets a clear, terminal answer.
    const second = await expectCallError(register(stranger, { sessionId: id }));
    expect(second.code).toBe(status.ALREADY_EXISTS);
    for (let index = 2; index <= 20; index++) firstStream.batch(BigInt(index), 0, index - 1);
    await firstStream.waitForAck(20n);
    expect(firstStream.acks().every((ack) => ack.success && !ack.duplicate)).toBe(true);
    expect(firstStream.status).toBeUndefined();
    expect((await summaryOf(dashboard, id))?.batchesReceived).toBe(20n);
    firstStream.end();
    await healthy.stillAcked();
  });

  it('the owner replaces its own stale stream with its token; the old one ends ABORTED', async () => {
    const id = nextId();
    const { resumeToken } = await register(telemetry, { sessionId: id });
    const old = new TrainerStreamClient(telemetry, id, resumeToken);
    old.batch(1n, 0, 0);
    await old.waitForAck(1n);
    // Re-registering with the token while the old stream is open is the owner coming back.
    const again = await register(stranger, { sessionId: id, resumeToken });
    expect(again).toMatchObject({ resumed: true, lastSequence: 1n, resumeToken });
    const fresh = new TrainerStreamClient(stranger, id, resumeToken);
    fresh.batch(2n, 0, 1);
    await fresh.waitForAck(2n);
    const ended = await old.waitForStatus();
    expect([ended.code, ended.details]).toEqual([
      status.ABORTED,
      'replaced by a newer stream of the same trainer',
    ]);
    expect((await summaryOf(dashboard, id))?.writerConflict).toBeUndefined();
    fresh.end();
    await healthy.stillAcked();
  });

  it('a client that knows only the session id resumes its own run after its stream died', async () => {
    const id = nextId();
    await register(telemetry, { sessionId: id });
    const crashed = new TrainerStreamClient(telemetry, id);
    for (let index = 1; index <= 5; index++) crashed.batch(BigInt(index), 0, index - 1);
    await crashed.waitForAck(5n);
    crashed.call.cancel();
    await waitFor(
      async () => (await summaryOf(dashboard, id))?.connection === ConnectionState.DISCONNECTED,
      {
        what: 'disconnected',
      },
    );
    // No token anywhere: the session is idle, so it is handed over (with a new token).
    const again = await register(stranger, { sessionId: id });
    expect(again).toMatchObject({ resumed: true, lastSequence: 5n });
    const resumed = new TrainerStreamClient(stranger, id);
    for (let index = 4; index <= 8; index++) resumed.batch(BigInt(index), 0, index - 1);
    await resumed.waitForAck(8n);
    expect(resumed.acks().map((ack) => [ack.sequence, ack.duplicate])).toEqual([
      [4n, true],
      [5n, true],
      [6n, false],
      [7n, false],
      [8n, false],
    ]);
    expect((await summaryOf(dashboard, id))?.batchesReceived).toBe(8n);
    resumed.end();
    await healthy.stillAcked();
  });

  it('a run this server does not know resumes from resume_from_sequence, marked as partial history', async () => {
    const id = nextId();
    // As after a server restart: the trainer was acknowledged up to 50 by the previous process.
    const response = await register(telemetry, { sessionId: id, resumeFromSequence: 50n });
    expect(response).toMatchObject({ resumed: false, lastSequence: 50n });
    const stream = new TrainerStreamClient(telemetry, id, response.resumeToken);
    const watch = dashboard.watch(id);
    await waitFor(() => watch.events[0], { what: 'snapshot' });
    stream.batch(50n, 1, 4); // a replay of what the old server had: a duplicate
    stream.batch(51n, 1, 5);
    stream.batch(52n, 1, 6);
    await stream.waitForAck(52n);
    expect(stream.acks().map((ack) => [ack.sequence, ack.duplicate])).toEqual([
      [50n, true],
      [51n, false],
      [52n, false],
    ]);
    const marked = await waitFor(() => statusEvents(watch).find((event) => event.partialHistory), {
      what: 'StatusEvent with partial_history',
    });
    expect(marked.historyStartStep).toBe(105n);
    expect(await summaryOf(dashboard, id)).toMatchObject({
      partialHistory: true,
      historyStartStep: 105n,
      batchesReceived: 2n,
    });
    watch.cancel();
    stream.end();
    await healthy.stillAcked();
  });
});
