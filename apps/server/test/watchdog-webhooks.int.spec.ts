import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TrainingStatus, type Alert } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  grpcDashboard,
  HealthySession,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
} from './harness';

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => resolve(body));
  });

/**
 * Alert webhooks over real HTTP: a receiver in the test gets a
 * Slack-compatible body; an endpoint that refuses connections is retried,
 * then counted in /metrics and on the alert; ingest is not held up.
 */
describe('alert webhooks', () => {
  let receiver: Server;
  const received: { path: string; body: Record<string, unknown> }[] = [];
  let server: TestServer;
  let dashboard: DashboardApi;
  let telemetry: ReturnType<typeof telemetryClient>;
  let healthy: HealthySession;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      void readBody(request).then((body) => {
        received.push({
          path: request.url ?? '',
          body: JSON.parse(body) as Record<string, unknown>,
        });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    // A port nobody listens on: closed right after binding it.
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const downPort = (down.address() as AddressInfo).port;
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const port = (receiver.address() as AddressInfo).port;
    server = await startTestServer({
      WEBHOOK_URLS: `http://127.0.0.1:${port}/hook,http://127.0.0.1:${downPort}/down`,
      WEBHOOK_RETRY_BASE_MS: '20',
    });
    dashboard = grpcDashboard(server.grpcAddress);
    telemetry = telemetryClient(server.grpcAddress);
    healthy = new HealthySession(telemetry, 'webhooks-healthy');
    await healthy.start();
  });

  afterAll(async () => {
    healthy.end();
    telemetry.close();
    dashboard.close();
    await server.shutdown();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('a NaN alert is posted once with a Slack `text`; the down endpoint fails after retries, counted in /metrics and on the alert', async () => {
    const sessionId = 'webhooks-nan';
    await register(telemetry, { sessionId });
    const stream = new TrainerStreamClient(telemetry, sessionId);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    for (let index = 0; index < 20; index++) {
      stream.batch(BigInt(index + 2), 0, index, { batchLoss: Number.NaN });
    }
    await stream.waitForAck(21n);
    const posted = await waitFor(() => received[0], { what: 'the webhook POST' });
    expect(posted.path).toBe('/hook');
    expect(posted.body['text']).toMatch(
      /^\[trainwatch\] webhooks-nan: non-finite value: loss is NaN at step 0$/,
    );
    expect(posted.body).toMatchObject({ session_id: sessionId, series: 'loss', value: 'NaN' });

    const watch = dashboard.watch(sessionId);
    const failed = await waitFor(
      () =>
        watch.events
          .flatMap((event) => (event.event.case === 'alert' ? [event.event.value] : []))
          .concat(
            watch.events.flatMap((event) =>
              event.event.case === 'snapshot' ? event.event.value.alerts : [],
            ),
          )
          .find((alert: Alert) => alert.webhookFailures > 0),
      { what: 'the alert with its webhook failure', timeoutMs: 10_000 },
    );
    watch.cancel();
    expect(failed.webhookFailures).toBe(1);
    // Named by host and port only: a webhook's path may be its secret.
    expect(failed.webhookError).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/…: .*ECONNREFUSED/);
    expect(failed.webhookError).not.toMatch(/\/down/);
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/trainwatch_webhook_deliveries_total 1\b/);
    expect(metrics).toMatch(/trainwatch_webhook_failures_total 1\b/);
    // One alert, one POST to the receiver, however many NaNs.
    expect(received).toHaveLength(1);
    await healthy.stillAcked();
    stream.end();
  });
});
