import { TrainingStatus } from '@trainwatch/proto';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { TrainingSession, type SessionError } from '../src';
import { batchSteps, DashboardClient } from './dashboard-client';

const config = { totalEpochs: 1, batchesPerEpoch: 100, batchSize: 4 };
const reconnect = { initialDelayMs: 20, maxDelayMs: 100 };

describe('two trainers started with the same session id', () => {
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

  it('the second is refused for good and says so; the first keeps streaming and is told of the conflict', async () => {
    const firstErrors: SessionError[] = [];
    const secondErrors: SessionError[] = [];
    const open = (errors: SessionError[], clientName: string) =>
      TrainingSession.connect({
        address: server.grpcAddress,
        sessionId: 'shared-id',
        clientName,
        config,
        reconnect,
        connectTimeoutMs: 2000,
        onError: (error) => errors.push(error),
      });
    const first = await open(firstErrors, 'first-trainer');
    const other = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId: 'other-run',
      config,
    });
    first.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    expect(await first.flush(5000)).toBe(true);
    const watch = dashboard.watch('shared-id');

    const second = await open(secondErrors, 'second-trainer');
    await waitFor(() => second.terminated, { what: 'the second trainer to be refused' });
    const registrations = second.stats().reconnects;
    second.logBatch({ epoch: 0, batchIdx: 50, loss: 9 });
    expect(await second.flush(200)).toBe(false);
    expect(secondErrors.filter((e) => e.kind === 'terminated')).toEqual([
      expect.objectContaining({ reason: 'session-taken' }),
    ]);
    expect(second.stats().reconnects).toBe(registrations);

    // The holder learns of it (reported once) and goes on, uninterrupted.
    await waitFor(() => first.stats().writerConflicts >= 1, { what: 'the holder to be told' });
    expect(firstErrors.filter((e) => e.kind === 'writer-conflict')).toHaveLength(1);
    for (let batchIdx = 1; batchIdx < 5; batchIdx++)
      first.logBatch({ epoch: 0, batchIdx, loss: 1 });
    expect(await first.flush(5000)).toBe(true);
    expect(first.stats().reconnects).toBe(0);
    await waitFor(() => batchSteps(watch.events).includes(4), { what: 'the holder batches' });
    expect(batchSteps(watch.events)).not.toContain(50);
    watch.stop();
    const summary = await dashboard.session('shared-id');
    expect(summary?.writerConflict?.clientName).toBe('second-trainer');
    expect(summary?.status).toBe(TrainingStatus.RUNNING);

    // A run under another id is unaffected.
    other.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    expect(await other.flush(5000)).toBe(true);
    expect(other.stats().writerConflicts).toBe(0);

    await Promise.all([first, second, other].map((s) => s.close({ flushTimeoutMs: 1000 })));
  });
});
