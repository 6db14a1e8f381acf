import * as grpc from '@grpc/grpc-js';
import { TelemetryService, toGrpcServiceDefinition } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  grpcDashboard,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';
import { SteadyTrainer } from './steady-trainer';

type DynamicClient = ReturnType<typeof telemetryClient>;

/**
 * A TelemetryService client whose calls go to other paths, as a client
 * generated from a proto with `package telemetry;` (or one naming the stream
 * StreamTelemetry) would call. Messages are the same on the wire.
 */
function clientOn(address: string, registerPath: string, streamPath: string): DynamicClient {
  const canonical = toGrpcServiceDefinition(TelemetryService);
  const definition = {
    RegisterTrainingSession: { ...canonical['RegisterTrainingSession']!, path: registerPath },
    StreamMetrics: { ...canonical['StreamMetrics']!, path: streamPath },
  };
  const Client = grpc.makeGenericClientConstructor(definition, 'TelemetryService');
  return new Client(address, grpc.credentials.createInsecure()) as DynamicClient;
}

describe('TelemetryService compatibility paths', () => {
  let server: TestServer;
  let healthy: SteadyTrainer;

  beforeAll(async () => {
    server = await startTestServer();
    healthy = new SteadyTrainer(server.grpcAddress, 'compat-healthy');
    await healthy.start();
  });

  afterAll(async () => {
    healthy.stop();
    await server.shutdown();
  });

  it.each([
    [
      '/telemetry.TelemetryService/RegisterTrainingSession',
      '/telemetry.TelemetryService/StreamMetrics',
    ],
    [
      '/telemetry.TelemetryService/RegisterTrainingSession',
      '/telemetry.TelemetryService/StreamTelemetry',
    ],
    [
      '/telemetry.v1.TelemetryService/RegisterTrainingSession',
      '/telemetry.v1.TelemetryService/StreamTelemetry',
    ],
  ])('registers on %s and streams on %s, with acks', async (registerPath, streamPath) => {
    const sessionId = `compat${streamPath.replace(/[^A-Za-z0-9.]/g, '-')}`;
    const client = clientOn(server.grpcAddress, registerPath, streamPath);
    const response = await register(client, { sessionId });
    expect(response).toMatchObject({ success: true, sessionId });
    const stream = new TrainerStreamClient(client, sessionId);
    stream.batch(1n, 0, 0);
    stream.batch(2n, 0, 1);
    await stream.waitForAck(2n);
    const dashboard = grpcDashboard(server.grpcAddress);
    await waitFor(
      async () =>
        (await dashboard.listSessions()).sessions.find(
          (session) => session.sessionId === sessionId && session.batchesReceived === 2n,
        ),
      { what: `${sessionId} with 2 batches in ListSessions` },
    );
    dashboard.close();
    stream.end();
    await stream.waitForStatus();
    expect(stream.status?.code).toBe(grpc.status.OK);
    client.close();
    await healthy.waitForAcks(3);
    expect(healthy.worstLatencyMs()).toBeLessThan(1500);
  });
});
