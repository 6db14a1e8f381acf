import * as grpc from '@grpc/grpc-js';
import { waitFor } from '@trainwatch/testing';
import { TrainingSession, TrainingStatus } from '../src';
import { ScriptedServer } from './scripted-server';

describe('a stream names its session at once', () => {
  let server: ScriptedServer;
  let session: TrainingSession | undefined;

  beforeEach(async () => {
    server = await ScriptedServer.start();
  });

  afterEach(async () => {
    await session?.close({ flushTimeoutMs: 200 });
    await server.close();
  });

  it('sends a heartbeat first when a stream opens with nothing queued', async () => {
    session = await TrainingSession.connect({
      address: server.address,
      sessionId: 'bind-at-once',
      config: { totalEpochs: 1, batchesPerEpoch: 10, batchSize: 1 },
      systemMetrics: false,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
      connectTimeoutMs: 2000,
    });
    // A finished run is not told again after a reconnect, so nothing is queued
    // when the next stream opens (a run still going gets its status resent).
    session.setStatus(TrainingStatus.COMPLETED, 'done');
    expect(await session.flush(2000)).toBe(true);
    server.streams[0]?.end(grpc.status.UNAVAILABLE, 'restarting');
    await waitFor(() => (server.streams[1]?.requests.length ?? 0) > 0, {
      what: 'a first message on the new stream',
    });
    // The scripted server's heartbeat interval is 0 (none): only the bind heartbeat comes.
    expect(server.streams[1]?.requests[0]).toMatchObject({
      sessionId: 'bind-at-once',
      sequence: 0n,
      payload: { case: 'heartbeat' },
    });
  });
});
