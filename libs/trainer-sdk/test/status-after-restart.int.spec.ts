import { CommandType, TrainingStatus } from '@trainwatch/proto';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { TrainingSession } from '../src';
import { DashboardClient } from './dashboard-client';

const config = { totalEpochs: 2, batchesPerEpoch: 10, batchSize: 4, modelName: 'resnet' };
const reconnect = { initialDelayMs: 50, maxDelayMs: 300 };

describe('a server restart while a run goes on', () => {
  let server: ServerProcess;
  let dashboard: DashboardClient;

  beforeAll(async () => {
    // A server that keeps nothing across its restart (STORE_ENGINE=memory): how the SDK copes when
    // the server lost its state. The durable path is the store's own kill -9 test.
    server = await startServerProcess({
      env: { HEARTBEAT_INTERVAL_MS: '200', STORE_ENGINE: 'memory' },
    });
  });

  afterAll(async () => {
    dashboard?.close();
    await server.stop();
  });

  it('the new server shows each session as it is (RUNNING, PAUSED) with its config, not INITIALIZING', async () => {
    dashboard = new DashboardClient(server.grpcAddress);
    const open = (sessionId: string) =>
      TrainingSession.connect({ address: server.grpcAddress, sessionId, config, reconnect });
    const running = await open('restart-running');
    const paused = await open('restart-paused');
    for (let batchIdx = 0; batchIdx < 5; batchIdx++) {
      running.logBatch({ epoch: 0, batchIdx, loss: 1 });
      paused.logBatch({ epoch: 0, batchIdx, loss: 1 });
    }
    expect(await running.flush(5000)).toBe(true);
    expect(await paused.flush(5000)).toBe(true);
    await dashboard.command('restart-paused', CommandType.PAUSE);
    expect(paused.paused).toBe(true);
    expect(await paused.flush(5000)).toBe(true);

    // Everything is acknowledged: the new server gets no replay, only what
    // the SDK sends because it re-registered.
    await server.stop();
    await server.start();
    dashboard.close();
    dashboard = new DashboardClient(server.grpcAddress);
    await waitFor(() => running.stats().reconnects >= 1 && running.stats().connected, {
      what: 'the running session to re-register',
    });
    await waitFor(() => paused.stats().reconnects >= 1 && paused.stats().connected, {
      what: 'the paused session to re-register',
    });

    const statusOf = async (sessionId: string) => (await dashboard.session(sessionId))?.status;
    await waitFor(async () => (await statusOf('restart-running')) === TrainingStatus.RUNNING, {
      what: 'RUNNING on the new server',
    });
    await waitFor(async () => (await statusOf('restart-paused')) === TrainingStatus.PAUSED, {
      what: 'PAUSED on the new server',
    });
    const summary = await dashboard.session('restart-running');
    expect(summary?.config?.modelName).toBe('resnet');
    expect(summary?.config?.batchesPerEpoch).toBe(10);

    // Both runs go on against the new server, in order after what it already has.
    running.logBatch({ epoch: 0, batchIdx: 5, loss: 0.5 });
    expect(await running.flush(5000)).toBe(true);
    const after = await dashboard.session('restart-running');
    expect(after?.batchesReceived).toBe(1n);
    // The SDK said how far the old server had acknowledged: the new one knows it lacks the start.
    expect(after?.partialHistory).toBe(true);
    expect(Number(after?.historyStartStep)).toBe(5);
    const resumed = await dashboard.command('restart-paused', CommandType.RESUME);
    expect(resumed.status).toBe(TrainingStatus.RUNNING);

    await running.close({ flushTimeoutMs: 2000 });
    await paused.close({ flushTimeoutMs: 2000 });
  });
});
