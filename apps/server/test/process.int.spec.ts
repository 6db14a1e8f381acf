import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import {
  SERVER_ENTRY,
  startServerProcess,
  waitFor,
  WORKSPACE_ROOT,
  type ServerProcess,
} from '@trainwatch/testing';
import { grpcDashboard, register, telemetryClient, TrainerStreamClient } from './harness';

/** The built server (dist/apps/server/main.js) as a real process. */
describe('server process', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      env: { SHUTDOWN_TIMEOUT_MS: '3000', WEB_DIST_DIR: 'does-not-exist' },
    });
  });

  afterAll(async () => {
    if (server.child.exitCode === null) await server.kill();
  });

  it('logs one start-up line naming both addresses', () => {
    expect(server.output()).toContain(
      `gRPC on 127.0.0.1:${server.grpcPort}, HTTP on ${server.httpUrl}`,
    );
  });

  it('answers / with how to build the dashboard when it is not built', async () => {
    const page = await fetch(`${server.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('npx nx build web');
  });

  it('SIGTERM: open streams are told UNAVAILABLE, the process exits 0 within the bound', async () => {
    const telemetry = telemetryClient(server.grpcAddress);
    await register(telemetry, { sessionId: 'shutdown' });
    const trainer = new TrainerStreamClient(telemetry, 'shutdown');
    trainer.batch(1n, 0, 0);
    await trainer.waitForAck(1n);
    const dashboard = grpcDashboard(server.grpcAddress);
    const watch = dashboard.watch('shutdown');
    await waitFor(() => watch.events.length > 0, { what: 'snapshot' });

    const started = Date.now();
    const code = await server.stop();
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000 + 1500);
    const trainerStatus = await trainer.waitForStatus();
    expect(trainerStatus.code).toBe(grpc.status.UNAVAILABLE);
    expect(trainerStatus.details).toBe('server shutting down');
    await waitFor(() => watch.ended, { what: 'watch ended' });
    expect(watch.error).toEqual({ code: grpc.status.UNAVAILABLE, message: 'server shutting down' });
    telemetry.close();
    dashboard.close();
  });

  it('bad configuration: one clear line and exit code 1', () => {
    const result = spawnSync(process.execPath, [SERVER_ENTRY], {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, GRPC_PORT: 'not-a-port' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'trainwatch server: GRPC_PORT="not-a-port" is invalid: expected an integer from 0 to 65535',
    );
  });
});
