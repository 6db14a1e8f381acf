import {
  CommandState,
  CommandType,
  TrainingStatus,
  type CommandAuditEntry,
} from '@trainwatch/proto';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { TrainingSession, type SessionError } from '../src';
import { batchSteps, DashboardClient } from './dashboard-client';

const config = { totalEpochs: 1, batchesPerEpoch: 100, batchSize: 4 };
const COMMAND_TIMEOUT_MS = 300;

/** Blocks the event loop, as a trainer stuck in a long synchronous step (or stopped by a debugger) would. */
function freeze(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: nothing else in this process runs meanwhile
  }
}

describe('a command that reaches a frozen trainer after its deadline', () => {
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

  async function auditOf(sessionId: string): Promise<CommandAuditEntry[]> {
    const watch = dashboard.watch(sessionId);
    const snapshot = await waitFor(
      () => watch.events[0]?.event.case === 'snapshot' && watch.events[0].event.value,
      { what: `snapshot of ${sessionId}` },
    );
    watch.stop();
    return snapshot.commands;
  }

  it('PAUSE: the dashboard is told DEADLINE_EXCEEDED, the thawed trainer does not pause, the audit says EXPIRED', async () => {
    const errors: SessionError[] = [];
    const frozen = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId: 'frozen-trainer',
      config,
      onError: (error) => errors.push(error),
    });
    const healthy = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId: 'healthy-trainer',
      config,
    });
    frozen.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    healthy.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    expect(await frozen.flush(5000)).toBe(true);
    expect(await healthy.flush(5000)).toBe(true);
    const healthyWatch = dashboard.watch('healthy-trainer');

    // The trainer freezes the moment the command reaches it, for longer than
    // the dashboard waits; the server (another process) times out meanwhile.
    frozen.once('command', () => freeze(COMMAND_TIMEOUT_MS + 700));
    const answer = await dashboard
      .command('frozen-trainer', CommandType.PAUSE, COMMAND_TIMEOUT_MS)
      .then(
        () => 'answered',
        (error: { code?: number }) => error.code,
      );
    expect(answer).toBe(4); // DEADLINE_EXCEEDED

    const audit = await waitFor(
      async () => {
        const entries = await auditOf('frozen-trainer');
        return entries[0]?.state === CommandState.EXPIRED && entries;
      },
      { what: 'the audit to say EXPIRED' },
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]?.resultMessage).toMatch(/after its deadline and did not apply it/);
    expect(frozen.paused).toBe(false);
    expect(frozen.stats().commandsExpired).toBe(1);
    expect(errors.filter((e) => e.kind === 'command-expired')).toHaveLength(1);
    expect(errors.filter((e) => e.kind === 'server-error')).toEqual([]); // no UNKNOWN_COMMAND

    // The run goes on: the loop is not held, batches flow, the status stays RUNNING.
    expect(await frozen.gate()).toBe('continue');
    frozen.logBatch({ epoch: 0, batchIdx: 1, loss: 0.5 });
    expect(await frozen.flush(5000)).toBe(true);
    expect((await dashboard.session('frozen-trainer'))?.status).toBe(TrainingStatus.RUNNING);

    // The other session on the same server is unaffected: acked, watched, commandable.
    healthy.logBatch({ epoch: 0, batchIdx: 1, loss: 0.5 });
    expect(await healthy.flush(5000)).toBe(true);
    await waitFor(() => batchSteps(healthyWatch.events).includes(1), {
      what: 'the healthy watcher to see its batch',
    });
    healthyWatch.stop();
    const paused = await dashboard.command('healthy-trainer', CommandType.PAUSE);
    expect(paused.entry?.state).toBe(CommandState.SUCCEEDED);
    expect(healthy.paused).toBe(true);

    await frozen.close({ flushTimeoutMs: 2000 });
    await healthy.close({ flushTimeoutMs: 2000 });
  });
});
