import { Code, ConnectError } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import * as grpc from '@grpc/grpc-js';
import { DashboardService } from '@trainwatch/proto';
import { startTestServer, type TestServer } from './harness';
import { rawPost } from './raw-http';
import { SteadyTrainer } from './steady-trainer';

/** Every DashboardService method of the contract: the server binds them all. */
const DASHBOARD_METHODS = DashboardService.methods
  .map((method) => method.name)
  .sort()
  .join(', ');

const SERVED = [
  'grpc.health.v1.Health',
  'telemetry.TelemetryService',
  'telemetry.v1.AdminService',
  'telemetry.v1.AuthService',
  'telemetry.v1.DashboardService',
  'telemetry.v1.TelemetryService',
];

/** Calls `path` over native gRPC as a unary call with an empty body; resolves its error. */
function callUnknown(address: string, path: string): Promise<grpc.ServiceError> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (message: Buffer) => message,
      (bytes: Buffer) => bytes,
      Buffer.alloc(0),
      (error) => {
        client.close();
        if (error) resolve(error);
        else reject(new Error(`${path} succeeded`));
      },
    );
  });
}

describe('UNIMPLEMENTED names what is served', () => {
  let server: TestServer;
  let healthy: SteadyTrainer;

  beforeAll(async () => {
    server = await startTestServer();
    healthy = new SteadyTrainer(server.grpcAddress, 'unknown-method-healthy');
    await healthy.start();
  });

  afterAll(async () => {
    healthy.stop();
    await server.shutdown();
  });

  afterEach(async () => {
    await healthy.waitForAcks(3);
    expect(healthy.worstLatencyMs()).toBeLessThan(1500);
  });

  it('native gRPC: an unknown service lists every served service, compatibility names included', async () => {
    const error = await callUnknown(
      server.grpcAddress,
      '/telemetry.v2.TelemetryService/StreamMetrics',
    );
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error.details).toBe(
      'unknown service "telemetry.v2.TelemetryService" (called /telemetry.v2.TelemetryService/StreamMetrics); ' +
        `this port serves ${SERVED.join(', ')}`,
    );
  });

  it('native gRPC: an unknown method of a served service lists its methods', async () => {
    const error = await callUnknown(
      server.grpcAddress,
      '/telemetry.v1.DashboardService/PurgeEverything',
    );
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error.details).toBe(
      `telemetry.v1.DashboardService has no method "PurgeEverything"; its methods are ${DASHBOARD_METHODS}`,
    );
  });

  it('native gRPC: an unknown bidi stream is answered at once, without waiting for its messages', async () => {
    const client = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
    const call = client.makeBidiStreamRequest(
      '/telemetry.Telemetry/Stream',
      (message: Buffer) => message,
      (bytes: Buffer) => bytes,
    );
    call.write(Buffer.from([1, 2, 3]));
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      call.on('error', () => undefined);
      call.on('status', resolve);
    });
    client.close();
    expect(status.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(status.details).toMatch(
      /unknown service "telemetry.Telemetry".*telemetry.v1.TelemetryService/,
    );
  });

  it('gRPC-Web: an unknown service says what this port serves and where the rest is', async () => {
    const result = await rawPost({
      url: server.httpUrl,
      path: '/telemetry.v1.TelemetryService/RegisterTrainingSession',
      totalBytes: 5,
      contentLength: true,
      envelopeLength: 0,
    });
    expect(result.status).toBe(200);
    expect(result.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
    expect(result.grpcMessage).toBe(
      'unknown service "telemetry.v1.TelemetryService" (called /telemetry.v1.TelemetryService/RegisterTrainingSession); ' +
        'this port serves telemetry.v1.AdminService, telemetry.v1.AuthService, telemetry.v1.DashboardService; telemetry.v1.TelemetryService and ' +
        'grpc.health.v1.Health are served over native gRPC on the gRPC port',
    );
  });

  it('gRPC-Web: an unknown method of DashboardService, as a Connect client sees it', async () => {
    // A client built from a newer contract: the same service with one more method.
    const purge = { ...DashboardService.method.listSessions, name: 'PurgeEverything' };
    const transport = createGrpcWebTransport({ baseUrl: server.httpUrl });
    const error = await transport.unary(purge, undefined, undefined, undefined, {}).then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect(error?.code).toBe(Code.Unimplemented);
    expect(error?.rawMessage).toBe(
      `telemetry.v1.DashboardService has no method "PurgeEverything"; its methods are ${DASHBOARD_METHODS}`,
    );
  });
});
