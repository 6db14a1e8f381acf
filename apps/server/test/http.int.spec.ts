import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { HealthService } from '../src/health/health.service';
import {
  grpcWebDashboard,
  healthCheck,
  register,
  startTestServer,
  telemetryClient,
  type TestServer,
} from './harness';

describe('HTTP listener', () => {
  let webDir: string;
  let server: TestServer;

  beforeAll(async () => {
    webDir = mkdtempSync(join(tmpdir(), 'trainwatch-web-'));
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>spa</title>');
    writeFileSync(join(webDir, 'assets', 'app-123.js'), 'console.log(1)');
    server = await startTestServer({
      WEB_DIST_DIR: webDir,
      CORS_ORIGINS: 'http://allowed.example',
    });
  });

  afterAll(async () => {
    await server.shutdown();
    rmSync(webDir, { recursive: true, force: true });
  });

  it('serves the built SPA, its assets, and index.html for client routes', async () => {
    const index = await fetch(`${server.httpUrl}/`);
    expect(await index.text()).toContain('<title>spa</title>');
    const asset = await fetch(`${server.httpUrl}/assets/app-123.js`);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    const route = await fetch(`${server.httpUrl}/sessions/abc`);
    expect(await route.text()).toContain('<title>spa</title>');
    expect((await fetch(`${server.httpUrl}/missing.png`)).status).toBe(404);
    // A path escaping the directory never reads outside it (it gets the SPA shell instead).
    expect(await (await fetch(`${server.httpUrl}/..%2f..%2fetc%2fpasswd`)).text()).not.toContain(
      'root:',
    );
    expect((await fetch(`${server.httpUrl}/%E0%A4%A`)).status).toBe(400);
  });

  it('answers the CORS preflight for gRPC-Web from an allowed origin, exposing grpc-status', async () => {
    const preflight = await fetch(`${server.httpUrl}/telemetry.v1.DashboardService/ListSessions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://allowed.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://allowed.example');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/x-grpc-web/i);
    expect(preflight.headers.get('access-control-expose-headers')).toMatch(
      /grpc-status.*grpc-message.*grpc-status-details-bin/i,
    );
    const other = await fetch(`${server.httpUrl}/telemetry.v1.DashboardService/ListSessions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('shutdown: health NOT_SERVING at once, gRPC-Web watchers told UNAVAILABLE, listeners closed', async () => {
    const telemetry = telemetryClient(server.grpcAddress);
    await register(telemetry, { sessionId: 'web-shutdown' });
    telemetry.close();
    const watch = grpcWebDashboard(server.httpUrl).watch('web-shutdown');
    await waitFor(() => watch.events.length > 0, { what: 'snapshot' });
    expect((await healthCheck(server.grpcAddress)).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );

    const closing = server.shutdown();
    expect(server.app.get(HealthService).isServing).toBe(false);
    await waitFor(() => watch.ended, { what: 'watch ended' });
    expect(watch.error).toEqual({ code: status.UNAVAILABLE, message: 'server shutting down' });
    await closing;
    await expect(fetch(`${server.httpUrl}/healthz`)).rejects.toThrow();
  });
});
