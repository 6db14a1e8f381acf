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
import { CommandsService } from './commands.service';

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
