import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { status } from '@grpc/grpc-js';
import type { LoggerService } from '@nestjs/common';
import { AlertRuleKind, TrainingStatus, type Alert, type AlertSettings } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  expectCallError,
  grpcDashboard,
  grpcWebDashboard,
  HealthySession,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
  type WatchHandle,
} from './harness';

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => resolve(body));
  });

const alertsOf = (watch: WatchHandle): Alert[] =>
  watch.events.flatMap((event) => (event.event.case === 'alert' ? [event.event.value] : []));
const settingsOf = (watch: WatchHandle): AlertSettings[] =>
  watch.events.flatMap((event) =>
    event.event.case === 'alertSettings' ? [event.event.value] : [],
  );

/** The secret parts of the webhook URLs below: none may reach a log line, an error or a watcher. */
const SECRET = 'T0-B0-very-secret';
const logLines: string[] = [];
const capture =
  (level: string) =>
  (message: unknown, ...rest: unknown[]) =>
    logLines.push(`${level} ${String(message)} ${rest.map(String).join(' ')}`);
const capturingLogger: LoggerService = {
  log: capture('log'),
  error: capture('error'),
  warn: capture('warn'),
  debug: capture('debug'),
  verbose: capture('verbose'),
  fatal: capture('fatal'),
};

/**
 * Per-session webhooks over real sockets: a trainer's URLs are taken only
 * for hosts WEBHOOK_ALLOWED_HOSTS allows and within the bound; an operator
 * replaces them from the dashboard; each run's alerts go to its own URLs
 * only; a failing URL is named on the alert without its secret, and no log
 * line holds it. A healthy session streams throughout.
 */
describe('per-session webhooks', () => {
  let receiver: Server;
  const received: { path: string; body: Record<string, unknown> }[] = [];
  let receiverOrigin = '';
  let downOrigin = '';
  let server: TestServer;
  let grpc: DashboardApi;
  let web: DashboardApi;
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
    receiverOrigin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    // A port nobody listens on: closed right after binding it.
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    downOrigin = `http://127.0.0.1:${(down.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => down.close(() => resolve()));
    server = await startTestServer(
      { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_RETRY_BASE_MS: '20' },
      { logger: capturingLogger },
    );
    grpc = grpcDashboard(server.grpcAddress);
    web = grpcWebDashboard(server.httpUrl);
    telemetry = telemetryClient(server.grpcAddress);
    healthy = new HealthySession(telemetry, 'session-webhooks-healthy');
    await healthy.start();
  });

  afterAll(async () => {
    healthy.end();
    telemetry.close();
    grpc.close();
    web.close();
    await server.shutdown();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  async function trainer(sessionId: string, webhookUrls: string[]) {
    await register(telemetry, { sessionId, webhookUrls });
    const stream = new TrainerStreamClient(telemetry, sessionId);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await stream.waitForAck(1n);
    return stream;
  }

  it('refuses a registration whose webhook is not http(s), points at a host not allowed, or is one too many, naming the entry and never the secret', async () => {
    const refusals = [
      [
        [`http://10.0.0.7/hook/${SECRET}`],
        /webhook_urls\[0\]: host 10\.0\.0\.7 is not in WEBHOOK_ALLOWED_HOSTS/,
      ],
      [[`ftp://127.0.0.1/${SECRET}`], /webhook_urls\[0\]: only http:\/\/ and https:\/\/ webhooks/],
      [
        Array.from({ length: 5 }, (_, index) => `${receiverOrigin}/${index}/${SECRET}`),
        /webhook_urls: 5 URLs, at most 4 per session/,
      ],
    ] as const;
    for (const [urls, message] of refusals) {
      const refused = await expectCallError(
        register(telemetry, { sessionId: 'refused-webhooks', webhookUrls: [...urls] }),
      );
      expect(refused.code).toBe(status.INVALID_ARGUMENT);
      expect(refused.message).toMatch(message);
      expect(refused.message).not.toContain(SECRET);
    }
    await healthy.stillAcked();
  });

  it("posts a run's alerts to its own URLs only; a failing one is named without its secret; an operator's replacement takes effect for the next alert", async () => {
    const stream = await trainer('own-webhooks', [`${downOrigin}/hook/${SECRET}?token=${SECRET}`]);
    const other = await trainer('no-webhooks', []);
    const watch = web.watch(stream.sessionId);
    await waitFor(() => watch.events[0], { what: 'snapshot' });

    stream.batch(2n, 0, 0, { batchLoss: Number.NaN });
    other.batch(2n, 0, 0, { batchLoss: Number.NaN });
    const failed = await waitFor(() => alertsOf(watch).find((alert) => alert.webhookFailures > 0), {
      what: 'the webhook failure on the alert',
      timeoutMs: 10_000,
    });
    expect(failed.webhookError).toMatch(
      new RegExp(`^${downOrigin.replace(/[.:/]/g, '\\$&')}/…: .*ECONNREFUSED`),
    );
    expect(failed.webhookError).not.toContain(SECRET);

    // The operator points the run at a working receiver; watchers see it without the secret.
    const set = await grpc.setAlertRules({
      sessionId: stream.sessionId,
      webhookUrls: [`${receiverOrigin}/ops/${SECRET}`],
      replaceWebhookUrls: true,
      updatedBy: 'ops',
    });
    expect(set.settings?.webhookUrls).toEqual([`${receiverOrigin}/…`]);
    const event = await waitFor(() => settingsOf(watch)[0], { what: 'the alert settings event' });
    expect(event.webhookUrls).toEqual([`${receiverOrigin}/…`]);
    expect(event.updatedBy).toBe('ops');
    const bad = await expectCallError(
      grpc.setAlertRules({
        sessionId: stream.sessionId,
        webhookUrls: [`http://192.168.1.1/${SECRET}`],
        replaceWebhookUrls: true,
      }),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.message).toMatch(/host 192\.168\.1\.1 is not in WEBHOOK_ALLOWED_HOSTS/);
    const unknown = await expectCallError(grpc.setAlertRules({ sessionId: 'nobody-here' }));
    expect(unknown.code).toBe(status.NOT_FOUND);

    await grpc.acknowledgeAlert({ sessionId: stream.sessionId, alertId: failed.alertId });
    stream.batch(3n, 0, 1, { batchLoss: Number.NEGATIVE_INFINITY });
    const posted = await waitFor(() => received[0], { what: "the operator's webhook POST" });
    expect(posted.path).toBe(`/ops/${SECRET}`);
    expect(posted.body['session_id']).toBe(stream.sessionId);
    expect(posted.body['text']).toMatch(/own-webhooks: non-finite value: loss is -Infinity/);
    // The other run's alert went nowhere: it has no URLs and the deployment none.
    await healthy.stillAcked();
    expect(received.map((post) => post.body['session_id'])).toEqual([stream.sessionId]);

    watch.cancel();
    stream.end();
    other.end();
    const logged = logLines.join('\n');
    expect(logged).toMatch(/webhook http:\/\/127\.0\.0\.1:\d+\/… for alert/);
    expect(logged).not.toContain(SECRET);
  }, 30_000);

  it('an operator changes a rule: the change is in effect at once and reaches every watcher', async () => {
    const stream = await trainer('operator-rules', []);
    const watch = grpc.watch(stream.sessionId);
    await waitFor(() => watch.events[0], { what: 'snapshot' });
    const set = await web.setAlertRules({
      sessionId: stream.sessionId,
      rules: [{ kind: AlertRuleKind.NON_FINITE, disabled: true }],
    });
    expect(
      set.settings?.rules.find((rule) => rule.kind === AlertRuleKind.NON_FINITE)?.disabled,
    ).toBe(true);
    await waitFor(() => settingsOf(watch)[0], { what: 'the settings event' });
    const invalid = await expectCallError(
      web.setAlertRules({
        sessionId: stream.sessionId,
        rules: [{ kind: AlertRuleKind.LOSS_SPIKE, threshold: -1 }],
      }),
    );
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.message).toMatch(/rules\[0\]: threshold must be a finite number >= 0/);
    // With the NaN rule off, a NaN raises nothing and pauses nothing.
    stream.batch(2n, 0, 0, { batchLoss: Number.NaN });
    await stream.waitForAck(2n);
    await healthy.stillAcked();
    expect(alertsOf(watch)).toEqual([]);
    expect(stream.commands()).toEqual([]);
    watch.cancel();
    stream.end();
  });
});
