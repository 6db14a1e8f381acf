import { Logger } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import { waitFor } from '@trainwatch/testing';
import { errors } from '../src/common/app-error';
import { DashboardService } from '../src/dashboard/dashboard.service';
import { SessionEventBus } from '../src/events/event-bus';
import {
  expectCallError,
  grpcDashboard,
  grpcWebDashboard,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';

/**
 * One global filter: an error that is not an AppError is a bug, logged once
 * with its stack and answered INTERNAL without details, on unary gRPC, watch
 * streams and gRPC-Web; an AppError is answered as it is, without a log.
 */
describe('errors a handler did not expect', () => {
  let server: TestServer;
  let logged: string[];

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.shutdown());

  beforeEach(() => {
    logged = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      logged.push(String(message));
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['native gRPC', (s: TestServer) => grpcDashboard(s.grpcAddress)],
    ['gRPC-Web', (s: TestServer) => grpcWebDashboard(s.httpUrl)],
  ])('over %s: unary and stream answer INTERNAL and log the cause once', async (_name, connect) => {
    const dashboard = connect(server);
    const service = server.app.get(DashboardService);
    jest.spyOn(service, 'listSessions').mockImplementation(() => {
      throw new TypeError('unary boom');
    });
    jest.spyOn(service, 'watchSession').mockImplementation(() => {
      throw new RangeError('stream boom');
    });
    const unary = await expectCallError(dashboard.listSessions());
    expect(unary).toEqual({ code: status.INTERNAL, message: 'internal error' });
    const watch = dashboard.watch('any');
    await waitFor(() => watch.ended && watch.error, { what: 'watch to fail' });
    expect(watch.error).toEqual({ code: status.INTERNAL, message: 'internal error' });
    expect(logged.filter((line) => line.includes('TypeError: unary boom'))).toHaveLength(1);
    expect(logged.filter((line) => line.includes('RangeError: stream boom'))).toHaveLength(1);
    // With its stack: the line of this spec that threw.
    expect(logged.join('\n')).toMatch(/unexpected-errors\.int\.spec\.ts/);
    dashboard.close();
  });

  it('an AppError is answered with its own code and message, and not logged', async () => {
    const dashboard = grpcDashboard(server.grpcAddress);
    jest.spyOn(server.app.get(DashboardService), 'listSessions').mockImplementation(() => {
      throw errors.failedPrecondition('not now');
    });
    expect(await expectCallError(dashboard.listSessions())).toEqual({
      code: status.FAILED_PRECONDITION,
      message: 'not now',
    });
    expect(logged).toEqual([]);
    dashboard.close();
  });

  it('a trainer stream whose message hits a bug ends INTERNAL, logged once; another session is unaffected', async () => {
    const telemetry = telemetryClient(server.grpcAddress);
    await register(telemetry, { sessionId: 'bug' });
    await register(telemetry, { sessionId: 'fine' });
    const fine = new TrainerStreamClient(telemetry, 'fine');
    fine.batch(1n, 0, 0);
    await fine.waitForAck(1n);
    const stream = new TrainerStreamClient(telemetry, 'bug');
    stream.send(1n, { case: 'scalars', value: { step: 1n, values: { x: 1 } } });
    await stream.waitForAck(1n);
    // A listener that throws stands for any bug past validation.
    const off = server.app.get(SessionEventBus).on('scalars.applied', ({ session: target }) => {
      if (target.id === 'bug') throw new Error('listener boom');
    });
    stream.send(2n, { case: 'scalars', value: { step: 2n, values: { x: 2 } } });
    const ended = await stream.waitForStatus();
    off();
    expect(ended.code).toBe(status.INTERNAL);
    expect(logged.filter((line) => line.includes('Error: listener boom'))).toHaveLength(1);
    fine.batch(2n, 0, 1);
    expect((await fine.waitForAck(2n)).success).toBe(true);
    fine.end();
    telemetry.close();
  });
});
