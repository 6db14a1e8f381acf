import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  CommandArgumentType,
  CommandState,
  CommandType,
  HyperparameterValueSchema,
  MAX_CUSTOM_COMMANDS,
  TrainingStatus,
  type CommandAuditEntry,
  type CustomCommandSpecSchema,
  type SendCommandRequestSchema,
  type HyperparameterValue,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  expectCallError,
  grpcDashboard,
  grpcWebDashboard,
  register,
  scalarEvents,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
} from './harness';

const SET_LR: MessageInitShape<typeof CustomCommandSpecSchema> = {
  name: 'set_lr',
  description: 'Changes the learning rate at the next step',
  arguments: [
    { name: 'lr', type: CommandArgumentType.NUMBER, required: true },
    {
      name: 'reason',
      type: CommandArgumentType.TEXT,
      defaultValue: { case: 'defaultText', value: 'manual' },
    },
  ],
};
const SAVE: MessageInitShape<typeof CustomCommandSpecSchema> = { name: 'save_checkpoint' };

const number = (value: number): HyperparameterValue =>
  create(HyperparameterValueSchema, { kind: { case: 'number', value } });
const text = (value: string): HyperparameterValue =>
  create(HyperparameterValueSchema, { kind: { case: 'text', value } });

function auditOf(watch: { events: WatchSessionResponse[] }): CommandAuditEntry[] {
  return scalarEvents(watch as never).flatMap((event) =>
    event.event.case === 'command' ? [event.event.value] : [],
  );
}

/**
 * Custom commands end to end at the server, over both dashboard bindings: a
 * trainer advertises them at registration, a dashboard sends one with typed
 * arguments, the trainer's result resolves the call and lands in the audit.
 */
describe.each([
  ['native gRPC', (server: TestServer) => grpcDashboard(server.grpcAddress)],
  ['gRPC-Web', (server: TestServer) => grpcWebDashboard(server.httpUrl)],
])('custom commands over %s', (name, connect) => {
  let server: TestServer;
  let dashboard: DashboardApi;
  let telemetry: ReturnType<typeof telemetryClient>;
  let counter = 0;
  const nextId = () => `custom-${name.replace(/\W/g, '')}-${++counter}`;

  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: '2000' });
    dashboard = connect(server);
    telemetry = telemetryClient(server.grpcAddress);
  });

  afterAll(async () => {
    dashboard.close();
    telemetry.close();
    await server.shutdown();
  });

  async function trainer(
    customCommands: MessageInitShape<typeof CustomCommandSpecSchema>[] = [SET_LR, SAVE],
    sessionId = nextId(),
  ): Promise<{ stream: TrainerStreamClient; resumeToken: string }> {
    const response = await register(telemetry, { sessionId, customCommands });
    const stream = new TrainerStreamClient(telemetry, sessionId, response.resumeToken);
    stream.send(1n, {
      case: 'statusUpdate',
      value: { status: TrainingStatus.RUNNING, message: 'go' },
    });
    await stream.waitForAck(1n);
    return { stream, resumeToken: response.resumeToken };
  }

  it('advertises the commands in the snapshot, routes one with its arguments and audits the result', async () => {
    const { stream } = await trainer();
    const bystander = await trainer();
    const watch = dashboard.watch(stream.sessionId);
    const first = await waitFor(() => watch.events[0], { what: 'snapshot' });
    if (first.event.case !== 'snapshot') throw new Error(`got ${first.event.case}`);
    expect(first.event.value.customCommands.map((spec) => spec.name)).toEqual([
      'set_lr',
      'save_checkpoint',
    ]);
    expect(first.event.value.customCommands[0]?.arguments[1]?.defaultValue).toEqual({
      case: 'defaultText',
      value: 'manual',
    });

    const pending = dashboard.sendCommand({
      sessionId: stream.sessionId,
      type: CommandType.CUSTOM,
      customName: 'set_lr',
      arguments: { lr: number(0.003) },
      issuedBy: 'alice',
    });
    const command = await waitFor(() => stream.commands()[0], { what: 'command at the trainer' });
    // The trainer gets the declared default of what the dashboard left out.
    expect(command).toMatchObject({
      type: CommandType.CUSTOM,
      customName: 'set_lr',
      arguments: { lr: number(0.003), reason: text('manual') },
      issuedBy: 'alice',
    });
    expect(command.expiresAtMs).toBeGreaterThan(0n);
    stream.send(2n, {
      case: 'commandResult',
      value: {
        commandId: command.commandId,
        success: true,
        message: 'lr is 0.003 from step 41',
        status: TrainingStatus.RUNNING,
      },
    });
    const response = await pending;
    expect(response.entry).toMatchObject({
      state: CommandState.SUCCEEDED,
      type: CommandType.CUSTOM,
      customName: 'set_lr',
      resultMessage: 'lr is 0.003 from step 41',
      issuedBy: 'alice',
    });
    expect(response.entry?.arguments).toEqual({ lr: number(0.003), reason: text('manual') });
    const audit = await waitFor(() => (auditOf(watch).length >= 2 ? auditOf(watch) : undefined), {
      what: 'pending and final audit entries',
    });
    expect(audit.map((entry) => [entry.customName, entry.state])).toEqual([
      ['set_lr', CommandState.PENDING],
      ['set_lr', CommandState.SUCCEEDED],
    ]);
    // A custom command leaves the run's status alone, and a late joiner sees the audit.
    const late = dashboard.watch(stream.sessionId);
    const lateSnapshot = await waitFor(() => late.events[0], { what: 'late snapshot' });
    if (lateSnapshot.event.case !== 'snapshot') throw new Error('no snapshot');
    expect(lateSnapshot.event.value.session?.status).toBe(TrainingStatus.RUNNING);
    expect(lateSnapshot.event.value.commands.at(-1)).toMatchObject({
      customName: 'set_lr',
      state: CommandState.SUCCEEDED,
    });
    // The other session saw no command at all.
    expect(bystander.stream.commands()).toHaveLength(0);
    watch.cancel();
    late.cancel();
    stream.end();
    bystander.stream.end();
  });

  it('a failing handler is FAILED in the audit with its message, like PAUSE', async () => {
    const { stream } = await trainer();
    const pending = dashboard.sendCommand({
      sessionId: stream.sessionId,
      type: CommandType.CUSTOM,
      customName: 'save_checkpoint',
    });
    const command = await waitFor(() => stream.commands()[0], { what: 'command' });
    stream.send(2n, {
      case: 'commandResult',
      value: { commandId: command.commandId, success: false, message: 'disk full' },
    });
    expect((await pending).entry).toMatchObject({
      state: CommandState.FAILED,
      resultMessage: 'disk full',
      customName: 'save_checkpoint',
    });
    stream.end();
  });

  it('refuses, before the trainer hears of it, an unknown command and arguments that do not match', async () => {
    const { stream } = await trainer();
    const refused = async (
      init: Omit<MessageInitShape<typeof SendCommandRequestSchema>, 'sessionId' | '$typeName'>,
    ) => expectCallError(dashboard.sendCommand({ sessionId: stream.sessionId, ...init }));

    const unknown = await refused({ type: CommandType.CUSTOM, customName: 'reboot' });
    expect(unknown.code).toBe(status.INVALID_ARGUMENT);
    expect(unknown.message).toContain(
      `offers no command "reboot" (it offers: set_lr, save_checkpoint)`,
    );
    const missing = await refused({ type: CommandType.CUSTOM, customName: 'set_lr' });
    expect(missing).toMatchObject({
      code: status.INVALID_ARGUMENT,
      message: 'command set_lr: argument lr is required',
    });
    const wrongKind = await refused({
      type: CommandType.CUSTOM,
      customName: 'set_lr',
      arguments: { lr: text('fast') },
    });
    expect(wrongKind.message).toBe('command set_lr: argument lr must be a number, got text');
    const extra = await refused({
      type: CommandType.CUSTOM,
      customName: 'set_lr',
      arguments: { lr: number(1), momentum: number(0.9) },
    });
    expect(extra.message).toContain('has no argument "momentum"');
    const misplaced = await refused({ type: CommandType.PAUSE, customName: 'set_lr' });
    expect(misplaced.message).toBe('custom_name is only for COMMAND_TYPE_CUSTOM');
    expect(stream.commands()).toHaveLength(0);
    // The session still takes a good one.
    const pending = dashboard.sendCommand({
      sessionId: stream.sessionId,
      type: CommandType.CUSTOM,
      customName: 'save_checkpoint',
    });
    const command = await waitFor(() => stream.commands()[0], { what: 'command' });
    stream.send(2n, {
      case: 'commandResult',
      value: { commandId: command.commandId, success: true, message: '/tmp/ckpt-1.pt' },
    });
    expect((await pending).entry?.resultMessage).toBe('/tmp/ckpt-1.pt');
    stream.end();
  });

  it('refuses a registration whose commands break a bound, naming it', async () => {
    const badName = await expectCallError(
      register(telemetry, { sessionId: nextId(), customCommands: [{ name: 'Set LR' }] }),
    );
    expect(badName.code).toBe(status.INVALID_ARGUMENT);
    expect(badName.message).toMatch(/custom_commands\[0\]\.name "Set LR" is invalid: use 1-64/);
    const tooMany = await expectCallError(
      register(telemetry, {
        sessionId: nextId(),
        customCommands: Array.from({ length: MAX_CUSTOM_COMMANDS + 1 }, (_, index) => ({
          name: `c${index}`,
        })),
      }),
    );
    expect(tooMany.message).toContain(`at most ${MAX_CUSTOM_COMMANDS} are allowed`);
  });

  it('a re-registration with a new set tells watchers, and the old command is then unknown', async () => {
    const sessionId = nextId();
    const { stream, resumeToken } = await trainer([SAVE], sessionId);
    const watch = dashboard.watch(sessionId);
    await waitFor(() => watch.events[0], { what: 'snapshot' });
    // The trainer added a handler while running: it registers again on its open stream.
    await register(telemetry, { sessionId, resumeToken, customCommands: [SAVE, SET_LR] });
    const changed = await waitFor(
      () =>
        scalarEvents(watch).find(
          (event) =>
            event.event.case === 'status' && event.event.value.customCommands !== undefined,
        ),
      { what: 'status event with the new set' },
    );
    if (changed.event.case !== 'status') throw new Error('unreachable');
    expect(changed.event.value.customCommands?.commands.map((spec) => spec.name)).toEqual([
      'save_checkpoint',
      'set_lr',
    ]);
    await register(telemetry, { sessionId, resumeToken, customCommands: [SET_LR] });
    const gone = await expectCallError(
      dashboard.sendCommand({ sessionId, type: CommandType.CUSTOM, customName: 'save_checkpoint' }),
    );
    expect(gone.message).toContain('offers no command "save_checkpoint" (it offers: set_lr)');
    watch.cancel();
    stream.end();
  });
});

describe('custom commands after a restart on the same store', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-custom-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('the audit keeps the custom name and arguments; the set returns when the trainer registers again', async () => {
    const sessionId = 'custom-restart';
    let server = await startTestServer({ DATA_DIR: dataDir });
    let telemetry = telemetryClient(server.grpcAddress);
    let dashboard = grpcDashboard(server.grpcAddress);
    const first = await register(telemetry, { sessionId, customCommands: [SET_LR] });
    const stream = new TrainerStreamClient(telemetry, sessionId, first.resumeToken);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await stream.waitForAck(1n);
    const pending = dashboard.sendCommand({
      sessionId,
      type: CommandType.CUSTOM,
      customName: 'set_lr',
      arguments: { lr: number(0.5) },
    });
    const command = await waitFor(() => stream.commands()[0], { what: 'command' });
    stream.send(2n, {
      case: 'commandResult',
      value: { commandId: command.commandId, success: true, message: 'lr is 0.5' },
    });
    await stream.waitForAck(2n);
    await pending;
    stream.end();
    await stream.waitForStatus();
    dashboard.close();
    telemetry.close();
    await server.shutdown();

    server = await startTestServer({ DATA_DIR: dataDir });
    telemetry = telemetryClient(server.grpcAddress);
    dashboard = grpcDashboard(server.grpcAddress);
    try {
      const stored = dashboard.watch(sessionId);
      const snapshot = await waitFor(() => stored.events[0], { what: 'stored snapshot' });
      stored.cancel();
      if (snapshot.event.case !== 'snapshot') throw new Error(`got ${snapshot.event.case}`);
      expect(snapshot.event.value.commands.at(-1)).toMatchObject({
        type: CommandType.CUSTOM,
        customName: 'set_lr',
        state: CommandState.SUCCEEDED,
        resultMessage: 'lr is 0.5',
      });
      expect(snapshot.event.value.commands.at(-1)?.arguments).toEqual({
        lr: number(0.5),
        reason: text('manual'),
      });
      // Not stored: only a registered trainer can run them, and it says which.
      expect(snapshot.event.value.customCommands).toEqual([]);
      await register(telemetry, {
        sessionId,
        resumeToken: first.resumeToken,
        customCommands: [SAVE],
      });
      const back = dashboard.watch(sessionId);
      const again = await waitFor(() => back.events[0], { what: 'snapshot after re-registration' });
      back.cancel();
      if (again.event.case !== 'snapshot') throw new Error(`got ${again.event.case}`);
      expect(again.event.value.customCommands.map((spec) => spec.name)).toEqual([
        'save_checkpoint',
      ]);
    } finally {
      dashboard.close();
      telemetry.close();
      await server.shutdown();
    }
  });
});
