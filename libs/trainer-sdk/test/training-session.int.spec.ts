import { setTimeout as sleep } from 'node:timers/promises';
import {
  CommandState,
  CommandType,
  ConnectionState,
  ErrorCode,
  TrainingStatus,
} from '@trainwatch/proto';
import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { TrainingSession, type SessionError } from '../src';
import { DashboardClient } from './dashboard-client';

const CLASSES = ['cat', 'dog', 'ship'];

describe('TrainingSession against the real server', () => {
  let server: ServerProcess;
  let dashboard: DashboardClient;
  const sessions: TrainingSession[] = [];

  beforeAll(async () => {
    server = await startServerProcess({
      env: { HEARTBEAT_INTERVAL_MS: '100', TRAINER_BUFFER_SIZE: '321', MAX_IMAGE_DIMENSION: '64' },
    });
    dashboard = new DashboardClient(server.grpcAddress);
  });

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close({ flushTimeoutMs: 500 })));
    dashboard.close();
    await server.stop();
  });

  async function open(sessionId: string, errors: SessionError[] = []) {
    const session = await TrainingSession.connect({
      address: server.grpcAddress,
      sessionId,
      clientName: 'sdk-int-test',
      config: {
        totalEpochs: 2,
        batchesPerEpoch: 50,
        batchSize: 8,
        modelName: 'm',
        datasetName: 'd',
        classNames: CLASSES,
      },
      performanceEveryBatches: 5,
      performanceIntervalMs: 0,
      onError: (error) => errors.push(error),
    });
    sessions.push(session);
    return session;
  }

  it('registers with the config and takes the server limits', async () => {
    const session = await open('int-register');
    expect(session.stats().connected).toBe(true);
    expect(session.serverConfig).toMatchObject({
      bufferSize: 321,
      maxImageDimension: 64,
      heartbeatIntervalMs: 100,
    });
    expect(session.stats().bufferBound).toBe(321);
    const summary = await dashboard.session('int-register');
    expect(summary).toMatchObject({
      clientName: 'sdk-int-test',
      clientVersion: '0.1.0',
      config: {
        totalEpochs: 2,
        batchesPerEpoch: 50,
        batchSize: 8,
        modelName: 'm',
        datasetName: 'd',
      },
      classCount: CLASSES.length,
    });
    // Summaries leave class lists out; the snapshot carries them.
    expect((await dashboard.snapshot('int-register')).session?.config?.classNames).toEqual(CLASSES);
    // Images are shrunk to the server's limit, and the server accepts them.
    const image = session.encodeImage({
      width: 200,
      height: 100,
      channels: 3,
      data: new Uint8Array(200 * 100 * 3),
    });
    expect([image.width, image.height]).toEqual([64, 32]);
    session.logBatch({
      epoch: 0,
      batchIdx: 0,
      loss: 1,
      images: [image],
      predictions: [{ predictedClass: 1, confidence: 0.4 }],
      groundTruth: [1],
    });
    expect(await session.flush(5000)).toBe(true);
    expect((await dashboard.session('int-register'))?.batchesReceived).toBe(1n);
  });

  it('every message is acknowledged by sequence, and the server counts every batch once', async () => {
    const session = await open('int-acks');
    for (let i = 0; i < 40; i++) session.logBatch({ epoch: 0, batchIdx: i, loss: 2 - i / 40 });
    session.logEpoch({ epoch: 0, averageLoss: 1.5, averageAccuracy: 0.4 });
    expect(await session.flush(5000)).toBe(true);
    const stats = session.stats();
    expect(stats.acked).toBe(stats.lastSequence);
    expect(stats.sent).toBe(stats.lastSequence);
    expect(stats.buffered).toBe(0);
    const summary = await dashboard.session('int-acks');
    expect(summary?.batchesReceived).toBe(40n);
    expect(summary).toMatchObject({ epoch: 0, batchIdx: 39, status: TrainingStatus.RUNNING });
  });

  it('sends heartbeats at the server interval, so an idle run stays connected', async () => {
    const session = await open('int-heartbeat');
    const start = session.stats().heartbeats;
    // Server marks a session stale after 3 missed 100 ms heartbeats; 8 intervals of silence would.
    await waitFor(() => session.stats().heartbeats >= start + 8, {
      timeoutMs: 5000,
      what: '8 heartbeats',
    });
    expect((await dashboard.session('int-heartbeat'))?.connection).toBe(ConnectionState.CONNECTED);
  });

  it('performance figures match the pace the loop really ran at', async () => {
    const session = await open('int-perf');
    const watcher = dashboard.watch('int-perf');
    const started = performance.now();
    const batches = 30;
    for (let i = 0; i < batches; i++) {
      await sleep(20); // the "training step"
      session.logBatch({ epoch: 0, batchIdx: i, loss: 1 });
    }
    const elapsedMs = performance.now() - started;
    expect(await session.flush(5000)).toBe(true);
    const samples = await waitFor(
      () => {
        const found = watcher.events.flatMap((e) =>
          e.event.case === 'performance' ? [e.event.value] : [],
        );
        return found.length >= batches / 5 && found;
      },
      { what: 'performance samples' },
    );
    watcher.stop();
    const latest = samples[samples.length - 1]!;
    const truePerBatch = elapsedMs / batches;
    expect(latest.timePerBatchMs).toBeGreaterThan(truePerBatch * 0.8);
    expect(latest.timePerBatchMs).toBeLessThan(truePerBatch * 1.2);
    expect(latest.currentFps).toBeCloseTo(1000 / latest.timePerBatchMs, 5);
    expect(latest.averageFps).toBeGreaterThan((1000 / truePerBatch) * 0.8);
    expect(latest.averageFps).toBeLessThan((1000 / truePerBatch) * 1.25);
    expect(latest.totalTimeForEpochSec).toBeGreaterThan((elapsedMs / 1000) * 0.8);
    expect(latest.estimatedTimeRemainingSec).toBeCloseTo(
      ((100 - batches) * latest.timePerBatchMs) / 1000,
      3,
    );
    expect(latest.resourceUsage?.memoryBytes).toBeGreaterThan(10_000_000n);
    expect(latest.resourceUsage?.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(latest.resourceUsage?.gpuPercent).toBeUndefined();
  });

  it('the gate pauses on PAUSE, continues on RESUME, and reports each result and status', async () => {
    const session = await open('int-pause');
    const seen: CommandType[] = [];
    session.onCommand(CommandType.PAUSE, (command) => {
      seen.push(command.type);
    });
    session.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    await session.flush(5000);

    const paused = await dashboard.command('int-pause', CommandType.PAUSE);
    expect(paused.entry?.state).toBe(CommandState.SUCCEEDED);
    expect(paused.status).toBe(TrainingStatus.PAUSED);
    expect(session.paused).toBe(true);
    expect(seen).toEqual([CommandType.PAUSE]);
    let released: string | undefined;
    const gate = session.gate().then((result) => (released = result));
    await waitFor(
      async () => (await dashboard.session('int-pause'))?.status === TrainingStatus.PAUSED,
      { what: 'PAUSED status' },
    );
    expect(released).toBeUndefined();

    // A second PAUSE is reported as failed, not applied twice.
    const again = await dashboard.command('int-pause', CommandType.PAUSE);
    expect(again.entry?.state).toBe(CommandState.FAILED);

    const resumed = await dashboard.command('int-pause', CommandType.RESUME);
    expect(resumed.entry?.state).toBe(CommandState.SUCCEEDED);
    expect(resumed.status).toBe(TrainingStatus.RUNNING);
    await gate;
    expect(released).toBe('continue');
    await waitFor(
      async () => (await dashboard.session('int-pause'))?.status === TrainingStatus.RUNNING,
      { what: 'RUNNING status' },
    );
  });

  it('STOP gives the loop a clean stop signal, even while paused, and close reports COMPLETED', async () => {
    const session = await open('int-stop');
    session.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    await dashboard.command('int-stop', CommandType.PAUSE);
    const gate = session.gate();
    const stop = await dashboard.command('int-stop', CommandType.STOP);
    expect(stop.entry?.state).toBe(CommandState.SUCCEEDED);
    await expect(gate).resolves.toBe('stop');
    expect(session.stopRequested).toBe(true);
    await expect(session.gate()).resolves.toBe('stop');
    const stats = await session.close();
    expect(stats.buffered).toBe(0);
    const summary = await dashboard.session('int-stop');
    expect(summary).toMatchObject({
      status: TrainingStatus.COMPLETED,
      statusMessage: 'stopped on request',
    });
  });

  it('a rejected batch comes back as an error naming it; the stream goes on', async () => {
    const errors: SessionError[] = [];
    const session = await open('int-reject', errors);
    // The run declares 2 epochs: a batch of epoch 5 is outside it (NaN losses are data now).
    session.logBatch({ epoch: 5, batchIdx: 0, loss: 0.7 });
    session.logBatch({ epoch: 0, batchIdx: 1, loss: 0.5 });
    expect(await session.flush(5000)).toBe(true);
    const serverErrors = errors.flatMap((e) => (e.kind === 'server-error' ? [e.error] : []));
    expect(serverErrors).toHaveLength(1);
    expect(serverErrors[0]).toMatchObject({
      code: ErrorCode.OUT_OF_SHAPE,
      epoch: 5,
      batchIdx: 0,
    });
    expect(serverErrors[0]?.message).toMatch(/batch 0 of epoch 5/);
    expect((await dashboard.session('int-reject'))?.batchesReceived).toBe(1n);
  });

  it('connect does not hang when the server is away; logging still works and is buffered', async () => {
    const errors: SessionError[] = [];
    const started = performance.now();
    const session = await TrainingSession.connect({
      address: '127.0.0.1:1',
      config: { totalEpochs: 1, batchesPerEpoch: 1, batchSize: 1 },
      connectTimeoutMs: 300,
      reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
      onError: (error) => errors.push(error),
    });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(session.stats().connected).toBe(false);
    session.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    // INITIALIZING, RUNNING (set by the first batch) and the batch.
    expect(session.stats().buffered).toBe(3);
    expect(errors.some((e) => e.kind === 'connection')).toBe(true);
    const stats = await session.close({ flushTimeoutMs: 100 });
    expect(stats.buffered).toBe(4);
  });
});
