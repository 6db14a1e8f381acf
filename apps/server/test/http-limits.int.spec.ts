import { connect, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { waitFor } from '@trainwatch/testing';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { DashboardService } from '@trainwatch/proto';
import { expectCallError, grpcWebDashboard, startTestServer, type TestServer } from './harness';
import { rawPost } from './raw-http';
import { SteadyTrainer } from './steady-trainer';

const MIB = 1024 * 1024;

function grpcWebDashboardClient(httpUrl: string) {
  return createClient(DashboardService, createGrpcWebTransport({ baseUrl: httpUrl }));
}
const LIST_SESSIONS = '/telemetry.v1.DashboardService/ListSessions';
/** RESOURCE_EXHAUSTED as gRPC-Web carries it. */
const GRPC_RESOURCE_EXHAUSTED = '8';
/** Generous: the unbounded server grew by gigabytes on one such request. */
const RSS_GROWTH_BOUND = 96 * MIB;
/** A healthy trainer's acks normally take a few milliseconds; the unbounded server stalled them for seconds. */
const ACK_LATENCY_BOUND_MS = 1500;

describe('HTTP request limits', () => {
  let server: TestServer;
  let trainer: SteadyTrainer;

  beforeAll(async () => {
    server = await startTestServer();
    trainer = new SteadyTrainer(server.grpcAddress, 'http-limits-healthy');
    await trainer.start();
  });

  afterAll(async () => {
    trainer.stop();
    await server.shutdown();
  });

  it('answers a 256 MiB gRPC-Web POST with RESOURCE_EXHAUSTED at once, without reading it', async () => {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const result = await rawPost({
      url: server.httpUrl,
      path: LIST_SESSIONS,
      totalBytes: 256 * MIB,
      contentLength: true,
      envelopeLength: 256 * MIB - 5,
    });
    const growth = process.memoryUsage().rss - rssBefore;
    expect(result.status).toBe(200);
    expect(result.grpcStatus).toBe(GRPC_RESOURCE_EXHAUSTED);
    expect(result.grpcMessage).toMatch(/268435456 bytes.*65536.*HTTP_MAX_REQUEST_BYTES/);
    expect(result.elapsedMs).toBeLessThan(3000);
    expect(result.bytesSent).toBeLessThan(32 * MIB);
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND);
    await trainer.waitForAcks(3);
    expect(trainer.worstLatencyMs()).toBeLessThan(ACK_LATENCY_BOUND_MS);
  });

  it('stops a chunked gRPC-Web body at the cap with RESOURCE_EXHAUSTED', async () => {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const result = await rawPost({
      url: server.httpUrl,
      path: LIST_SESSIONS,
      totalBytes: 256 * MIB,
      contentLength: false,
      envelopeLength: 256 * MIB - 5,
    });
    const growth = process.memoryUsage().rss - rssBefore;
    expect(result.status).toBe(200);
    expect(result.grpcStatus).toBe(GRPC_RESOURCE_EXHAUSTED);
    expect(result.grpcMessage).toMatch(/65536/);
    expect(result.elapsedMs).toBeLessThan(3000);
    expect(result.bytesSent).toBeLessThan(32 * MIB);
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND);
    await trainer.waitForAcks(3);
    expect(trainer.worstLatencyMs()).toBeLessThan(ACK_LATENCY_BOUND_MS);
  });

  it('answers 413 to an over-cap body on any other route, naming the bound', async () => {
    const result = await rawPost({
      url: server.httpUrl,
      path: '/healthz',
      totalBytes: 256 * MIB,
      contentLength: true,
      contentType: 'application/octet-stream',
    });
    expect(result.status).toBe(413);
    expect(result.body.toString()).toMatch(/65536 bytes.*HTTP_MAX_REQUEST_BYTES/);
    expect(result.elapsedMs).toBeLessThan(3000);
    expect(result.bytesSent).toBeLessThan(32 * MIB);
  });

  it('a Connect gRPC-Web client sees RESOURCE_EXHAUSTED for an over-cap request', async () => {
    const error = await expectCallError(
      grpcWebDashboardClient(server.httpUrl).listSessions({ pageToken: 'x'.repeat(70_000) }),
    );
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.message).toMatch(/over the limit of 65536 bytes \(HTTP_MAX_REQUEST_BYTES\)/);
  });

  it('still serves gRPC-Web requests under the cap, on a fresh connection', async () => {
    const sessions = await grpcWebDashboard(server.httpUrl).listSessions();
    expect(sessions.sessions.map((session) => session.sessionId)).toContain('http-limits-healthy');
  });
});

/** Opens a connection and starts a gRPC-Web request whose body never finishes. */
function halfSentRequest(httpUrl: string): Promise<Socket> {
  const { hostname, port } = new URL(httpUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(
        `POST ${LIST_SESSIONS} HTTP/1.1\r\nHost: ${hostname}\r\n` +
          'Content-Type: application/grpc-web+proto\r\nContent-Length: 60000\r\n\r\n',
      );
      socket.write(Buffer.alloc(30_000));
      resolve(socket);
    });
    socket.on('error', () => undefined);
  });
}

describe('HTTP connection bound', () => {
  const MAX_CONNECTIONS = 8;
  let server: TestServer;
  let trainer: SteadyTrainer;

  beforeAll(async () => {
    server = await startTestServer({ HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS) });
    trainer = new SteadyTrainer(server.grpcAddress, 'http-connections-healthy');
    await trainer.start();
  });

  afterAll(async () => {
    trainer.stop();
    await server.shutdown();
  });

  it('holds at most HTTP_MAX_CONNECTIONS connections; the rest are closed at once', async () => {
    const http = server.app.getHttpServer() as HttpServer;
    const sockets = await Promise.all(
      Array.from({ length: 5 * MAX_CONNECTIONS }, () => halfSentRequest(server.httpUrl)),
    );
    const closed = new Set<Socket>();
    for (const socket of sockets) socket.on('close', () => closed.add(socket));
    await waitFor(() => closed.size >= sockets.length - MAX_CONNECTIONS, {
      what: 'connections over the bound closed by the server',
    });
    const open = await new Promise<number>((resolve, reject) =>
      http.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
    expect(open).toBeLessThanOrEqual(MAX_CONNECTIONS);
    await trainer.waitForAcks(3);
    expect(trainer.worstLatencyMs()).toBeLessThan(ACK_LATENCY_BOUND_MS);

    for (const socket of sockets) socket.destroy();
    await waitFor(
      async () => {
        try {
          return (await grpcWebDashboard(server.httpUrl).listSessions()).sessions.length > 0;
        } catch {
          return false;
        }
      },
      { what: 'gRPC-Web served again once the held connections are gone' },
    );
  });
});
