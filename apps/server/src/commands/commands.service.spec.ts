import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import {
  CommandResultSchema,
  CommandState,
  CommandType,
  SendCommandRequestSchema,
  SessionInfoSchema,
  TrainingStatus,
  type MetricsResponse,
} from '@trainwatch/proto';
import { MAX_PENDING_COMMANDS } from '../common/limits';
import { loadServerConfig } from '../config/server-config';
import { SessionEventBus } from '../events/event-bus';
import { FanOutService } from '../fan-out/fan-out.service';
import { MetricsService } from '../metrics/metrics.service';
import { SessionsService } from '../sessions/sessions.service';
import {
  CommandsService,
  EXPIRED_MESSAGE,
  LATE_RESULTS_REMEMBERED_PER_SESSION,
} from './commands.service';

function setup() {
  const settings = loadServerConfig({ COMMAND_TIMEOUT_MS: '50', COMMAND_AUDIT_SIZE: '500' });
  const metrics = new MetricsService();
  const bus = new SessionEventBus();
  const fanOut = new FanOutService(settings, metrics, bus);
  const sessions = new SessionsService(settings, fanOut, metrics, bus);
  const commands = new CommandsService(settings, sessions, bus, metrics);
  const { session } = sessions.register(
    create(SessionInfoSchema, {
      sessionId: 's',
      config: { totalEpochs: 1, batchesPerEpoch: 1, batchSize: 1 },
    }),
  );
  const sent: MetricsResponse[] = [];
  sessions.attachTrainer(session, {
    send: (response) => sent.push(response),
    close: () => undefined,
  });
  return { commands, session, sent, metrics };
}

const request = (type: CommandType, timeoutMs = 0) =>
  create(SendCommandRequestSchema, { sessionId: 's', type, timeoutMs });

describe('CommandsService', () => {
  it('times out to TIMED_OUT in the audit log and DEADLINE_EXCEEDED for the caller', async () => {
    const { commands, session, metrics } = setup();
    await expect(commands.send(request(CommandType.PAUSE))).rejects.toMatchObject({
      code: status.DEADLINE_EXCEEDED,
    });
    expect(session.commands.map((entry) => entry.state)).toEqual([CommandState.TIMED_OUT]);
    expect(metrics.commandResults['TIMED_OUT']).toBe(1);
  });

  it('a result for the command resolves it once; a second result is unknown', async () => {
    const { commands, session, sent } = setup();
    const pending = commands.send(request(CommandType.STOP, 5000));
    const command = sent[0]?.payload.case === 'command' ? sent[0].payload.value : undefined;
    const result = create(CommandResultSchema, {
      commandId: command?.commandId,
      success: false,
      message: 'cannot stop now',
      status: TrainingStatus.RUNNING,
    });
    expect(commands.complete(session, result)).toBe(true);
    expect(commands.complete(session, result)).toBe(false);
    await expect(pending).resolves.toMatchObject({
      status: TrainingStatus.RUNNING,
      entry: { state: CommandState.FAILED, resultMessage: 'cannot stop now' },
    });
  });

  it('the command carries its deadline: issued + timeout', async () => {
    const { commands, sent } = setup();
    const before = Date.now();
    const pending = commands.send(request(CommandType.PAUSE, 30));
    const command = sent[0]?.payload.case === 'command' ? sent[0].payload.value : undefined;
    expect(Number(command?.expiresAtMs)).toBe(Number(command?.issuedAtMs) + 30);
    expect(Number(command?.issuedAtMs)).toBeGreaterThanOrEqual(before);
    await expect(pending).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it('a result after the timeout is accepted: expired -> EXPIRED in the audit, status unchanged', async () => {
    const { commands, session, sent } = setup();
    session.status = TrainingStatus.RUNNING;
    await expect(commands.send(request(CommandType.PAUSE, 20))).rejects.toMatchObject({
      code: status.DEADLINE_EXCEEDED,
    });
    const commandId = sent[0]?.payload.case === 'command' ? sent[0].payload.value.commandId : '';
    const late = create(CommandResultSchema, {
      commandId,
      expired: true,
      status: TrainingStatus.RUNNING,
    });
    expect(commands.complete(session, late)).toBe(true);
    expect(session.commands).toHaveLength(1);
    expect(session.commands[0]).toMatchObject({
      state: CommandState.EXPIRED,
      resultMessage: EXPIRED_MESSAGE,
    });
    expect(session.status).toBe(TrainingStatus.RUNNING);
    // Answered once: a second copy is unknown.
    expect(commands.complete(session, late)).toBe(false);
  });

  it('a command applied after the timeout: the audit says so', async () => {
    const { commands, session, sent } = setup();
    session.status = TrainingStatus.RUNNING;
    await expect(commands.send(request(CommandType.PAUSE, 20))).rejects.toMatchObject({
      code: status.DEADLINE_EXCEEDED,
    });
    const commandId = sent[0]?.payload.case === 'command' ? sent[0].payload.value.commandId : '';
    const late = create(CommandResultSchema, {
      commandId,
      success: true,
      message: 'paused before the next batch',
      status: TrainingStatus.PAUSED,
    });
    expect(commands.complete(session, late)).toBe(true);
    expect(session.commands[0]?.state).toBe(CommandState.SUCCEEDED);
    expect(session.commands[0]?.resultMessage).toMatch(
      /applied after the dashboard stopped waiting/,
    );
  });

  it('an expired answer while the dashboard still waits: EXPIRED and DEADLINE_EXCEEDED', async () => {
    const { commands, session, sent } = setup();
    const pending = commands.send(request(CommandType.PAUSE, 5000));
    const commandId = sent[0]?.payload.case === 'command' ? sent[0].payload.value.commandId : '';
    commands.complete(session, create(CommandResultSchema, { commandId, expired: true }));
    await expect(pending).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(session.commands[0]?.state).toBe(CommandState.EXPIRED);
  });

  it(`remembers at most ${LATE_RESULTS_REMEMBERED_PER_SESSION} timed-out commands per session`, async () => {
    const { commands, session, sent } = setup();
    const count = LATE_RESULTS_REMEMBERED_PER_SESSION + 1;
    // Sent in rounds below the pending bound; each times out at once.
    for (let round = 0; round < count; round += MAX_PENDING_COMMANDS) {
      const batch = Array.from({ length: Math.min(MAX_PENDING_COMMANDS, count - round) }, () =>
        commands.send(request(CommandType.PAUSE, 5)),
      );
      await Promise.allSettled(batch);
    }
    const ids = sent.map((r) => (r.payload.case === 'command' ? r.payload.value.commandId : ''));
    const result = (commandId: string) => create(CommandResultSchema, { commandId, expired: true });
    expect(commands.complete(session, result(ids[0]!))).toBe(false); // the oldest was forgotten
    expect(commands.complete(session, result(ids[count - 1]!))).toBe(true);
  });

  it(`holds at most ${MAX_PENDING_COMMANDS} commands awaiting results per session`, async () => {
    const { commands } = setup();
    const pending = Array.from({ length: MAX_PENDING_COMMANDS }, () =>
      commands.send(request(CommandType.PAUSE, 60)),
    );
    await expect(commands.send(request(CommandType.PAUSE))).rejects.toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
    });
    await Promise.allSettled(pending);
    commands.onModuleDestroy();
  });
});
