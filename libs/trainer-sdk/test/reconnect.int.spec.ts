import { setTimeout as sleep } from 'node:timers/promises';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { TrainingSession } from '../src';
import { batchSteps, DashboardClient } from './dashboard-client';
import { TcpProxy } from './tcp-proxy';

const BATCHES = 60;
const config = { totalEpochs: 1, batchesPerEpoch: BATCHES, batchSize: 4 };
const reconnect = { initialDelayMs: 50, maxDelayMs: 300 };

/** Every step the server has applied, from a fresh watch's snapshot (history keeps every point at this size). */
async function appliedSteps(dashboard: DashboardClient, sessionId: string): Promise<number[]> {
  const watch = dashboard.watch(sessionId);
  const snapshot = await waitFor(
    () => watch.events[0]?.event.case === 'snapshot' && watch.events[0].event.value,
    {
      what: 'snapshot',
    },
  );
  watch.stop();
  return snapshot.lossHistory!.steps.map(Number);
}

describe('delivery across a lost connection', () => {
  let server: ServerProcess;
  let dashboard: DashboardClient;

  beforeEach(async () => {
    // A server that keeps nothing across its restart (STORE_ENGINE=memory): how the SDK copes when
    // the server lost its state. The durable path is the store's own kill -9 test.
    server = await startServerProcess({
      env: { HEARTBEAT_INTERVAL_MS: '200', STORE_ENGINE: 'memory' },
    });
    dashboard = new DashboardClient(server.grpcAddress);
  });

  afterEach(async () => {
    dashboard.close();
    await server.stop();
  });

  it('link cut mid-run: the SDK reconnects, replays, and the server has every batch exactly once', async () => {
    const proxy = await TcpProxy.start(server.grpcPort);
    const session = await TrainingSession.connect({
      address: proxy.address,
      sessionId: 'cut-link',
      config,
      reconnect,
    });
    for (let i = 0; i < BATCHES; i++) {
      if (i === 20) proxy.cut();
      if (i === 40) proxy.restore();
      session.logBatch({ epoch: 0, batchIdx: i, loss: 1 / (i + 1) });
      await sleep(5); // the "training step"
    }
    expect(await session.flush(10_000)).toBe(true);
    const stats = await session.close();
    await proxy.close();

    expect(stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(stats.acked).toBe(stats.lastSequence);
    const summary = await dashboard.session('cut-link');
    expect(summary?.batchesReceived).toBe(BigInt(BATCHES));
    expect(await appliedSteps(dashboard, 'cut-link')).toEqual(
      Array.from({ length: BATCHES }, (_, i) => i),
    );
  });

  it('server killed and restarted mid-run: the SDK reconnects and the new server gets every batch it lacks, once', async () => {
    const session = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId: 'killed',
      config,
      reconnect,
    });
    const firstLife = dashboard.watch('killed');
    await waitFor(() => firstLife.events.length > 0, { what: 'first watch snapshot' });
    let unackedAtKill = 0;
    for (let i = 0; i < BATCHES; i++) {
      if (i === 20) {
        unackedAtKill = session.stats().buffered;
        await server.kill();
      }
      if (i === 40) {
        await server.start();
        dashboard.close();
        dashboard = new DashboardClient(server.grpcAddress);
      }
      session.logBatch({ epoch: 0, batchIdx: i, loss: 1 / (i + 1) });
      await sleep(5);
    }
    expect(await session.flush(10_000)).toBe(true);
    const stats = await session.close();
    await firstLife.ended;

    expect(stats.reconnects).toBe(1);
    const before = batchSteps(firstLife.events);
    const after = await appliedSteps(dashboard, 'killed');
    // The first server applied a prefix, each once.
    expect(before).toEqual(Array.from({ length: before.length }, (_, i) => i));
    // The restarted server knows nothing of it, so it gets everything not
    // acknowledged before the kill, in order, each once, through the last batch.
    expect(new Set(after).size).toBe(after.length);
    expect(after).toEqual(
      Array.from({ length: after.length }, (_, i) => BATCHES - after.length + i),
    );
    expect((await dashboard.session('killed'))?.batchesReceived).toBe(BigInt(after.length));
    // Together they cover every batch; only batches in flight at the kill may be in both.
    expect(new Set([...before, ...after]).size).toBe(BATCHES);
    const both = before.filter((step) => after.includes(step)).length;
    expect(both).toBeLessThanOrEqual(unackedAtKill);
  });
});
