import {
  CommandArgumentType,
  CommandState,
  CommandType,
  TrainingStatus,
  type ControlCommand,
} from '@trainwatch/proto';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { TrainingSession } from '../src';
import { DashboardClient } from './dashboard-client';

const config = { totalEpochs: 1, batchesPerEpoch: 1000, batchSize: 4 };
const lr = (value: number) => ({ kind: { case: 'number' as const, value } });

/** `onCommand(name, args, handler)` against a real server process over loopback gRPC. */
describe('custom commands from the TypeScript SDK', () => {
  let server: ServerProcess;
  let dashboard: DashboardClient;

  beforeAll(async () => {
    server = await startServerProcess({ env: { HEARTBEAT_INTERVAL_MS: '200' } });
    dashboard = new DashboardClient(server.grpcAddress);
  });

  afterAll(async () => {
    dashboard.close();
    await server.stop();
  });

  it('advertises a handler at registration; the dashboard runs it with typed arguments and sees its answer', async () => {
    const session = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId: 'sdk-custom-1',
      config,
      // Resolves before the server answers: the handlers below are added while
      // the first registration is in flight and must still be advertised.
      connectTimeoutMs: 0,
    });
    let learningRate = 0.1;
    const seen: ControlCommand[] = [];
    session.onCommand(
      'set_lr',
      { lr: 'number', why: { type: 'text', default: 'manual', description: 'kept in the log' } },
      async ({ lr: next, why }, command) => {
        seen.push(command);
        await new Promise((resolve) => setImmediate(resolve));
        // Typed from the declaration: `next` is a number and `why` a string.
        learningRate = next;
        return `lr ${next.toFixed(3)} (${why.toUpperCase()})`;
      },
      { description: 'Set the learning rate' },
    );
    session.onCommand('explode', {}, () => {
      throw new Error('no checkpoint directory');
    });
    const snapshot = await waitFor(
      async () => {
        const value = await dashboard.snapshot('sdk-custom-1');
        return value.customCommands.length === 2 && value;
      },
      { what: 'both commands advertised' },
    );
    expect(snapshot.customCommands[0]).toMatchObject({
      name: 'set_lr',
      description: 'Set the learning rate',
      arguments: [
        { name: 'lr', type: CommandArgumentType.NUMBER, required: true },
        {
          name: 'why',
          type: CommandArgumentType.TEXT,
          required: false,
          description: 'kept in the log',
          defaultValue: { case: 'defaultText', value: 'manual' },
        },
      ],
    });

    const answer = await dashboard.send({
      sessionId: 'sdk-custom-1',
      type: CommandType.CUSTOM,
      customName: 'set_lr',
      arguments: { lr: lr(0.025) },
    });
    expect(answer.entry).toMatchObject({
      state: CommandState.SUCCEEDED,
      resultMessage: 'lr 0.025 (MANUAL)',
      customName: 'set_lr',
    });
    expect(learningRate).toBe(0.025);
    expect(seen).toHaveLength(1);
    // A custom command does not touch the gate or the run's status.
    expect(answer.status).not.toBe(TrainingStatus.PAUSED);
    expect(session.paused).toBe(false);

    const failed = await dashboard.send({
      sessionId: 'sdk-custom-1',
      type: CommandType.CUSTOM,
      customName: 'explode',
    });
    expect(failed.entry).toMatchObject({
      state: CommandState.FAILED,
      resultMessage: 'handler failed: no checkpoint directory',
    });
    await session.close({ flushTimeoutMs: 2000 });
  });

  it('a handler added while the run streams re-registers; batches flow on and a second run is untouched', async () => {
    const run = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId: 'sdk-custom-late',
      config,
    });
    const other = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId: 'sdk-custom-other',
      config,
    });
    const otherCommands: ControlCommand[] = [];
    other.on('command', (command) => otherCommands.push(command));
    run.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    expect(await run.flush(5000)).toBe(true);
    expect((await dashboard.snapshot('sdk-custom-late')).customCommands).toEqual([]);

    const remove = run.onCommand('save_checkpoint', {}, () => '/tmp/ckpt-7.pt');
    await waitFor(
      async () =>
        (await dashboard.snapshot('sdk-custom-late')).customCommands[0]?.name === 'save_checkpoint',
      { what: 'the late handler advertised' },
    );
    run.logBatch({ epoch: 0, batchIdx: 1, loss: 0.9 });
    expect(await run.flush(5000)).toBe(true);
    const answer = await dashboard.send({
      sessionId: 'sdk-custom-late',
      type: CommandType.CUSTOM,
      customName: 'save_checkpoint',
    });
    expect(answer.entry?.resultMessage).toBe('/tmp/ckpt-7.pt');
    // The same stream carried on: no reconnect, nothing dropped.
    expect(run.stats().reconnects).toBe(0);

    remove();
    await waitFor(
      async () => (await dashboard.snapshot('sdk-custom-late')).customCommands.length === 0,
      { what: 'the removed handler withdrawn' },
    );
    expect(otherCommands).toEqual([]);
    await run.close({ flushTimeoutMs: 2000 });
    await other.close({ flushTimeoutMs: 2000 });
  });

  it('refuses a declaration that breaks a rule before anything is sent', async () => {
    const run = await TrainingSession.connect({
      address: '127.0.0.1:1',
      config,
      connectTimeoutMs: 0,
    });
    expect(() => run.onCommand('Set LR', {}, () => undefined)).toThrow(
      /custom command.name "Set LR" is invalid: use 1-64 characters/,
    );
    expect(() =>
      run.onCommand('set_lr', { lr: { type: 'number', default: 'fast' } }, () => undefined),
    ).toThrow(/default of argument lr must be a number/);
    run.onCommand('set_lr', { lr: 'number' }, () => undefined);
    expect(() => run.onCommand('set_lr', { lr: 'number' }, () => undefined)).toThrow(
      /already has a handler/,
    );
    await run.close({ flushTimeoutMs: 0 });
  });
});
