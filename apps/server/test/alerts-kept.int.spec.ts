import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AlertAction,
  AlertRuleKind,
  TrainingStatus,
  type Alert,
  type AlertSettings,
  type SessionSnapshot,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { Migrator } from 'kysely';
import { migrationProvider, storeMigrations } from '../src/store/migrations';
import {
  grpcDashboard,
  grpcWebDashboard,
  register,
  startTestServer,
  summaryOf,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
  type WatchHandle,
} from './harness';
import { STORE_ENGINES, type StoreEngineFixture, type TestStore } from './store-engines';

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

async function snapshotOf(watch: WatchHandle): Promise<SessionSnapshot> {
  const first = await waitFor(() => watch.events[0], { what: 'snapshot' });
  if (first.event.case !== 'snapshot') throw new Error(`first event is ${first.event.case}`);
  return first.event.value;
}

const ruleOf = (rules: AlertSettings['rules'] | undefined, kind: AlertRuleKind) =>
  rules?.find((rule) => rule.kind === kind);

/**
 * Alerts are kept: raised, acknowledged and folded alerts, the rules an
 * operator set from the dashboard and the run's own webhook URLs are in the
 * store, and a restarted server lists, shows and keeps folding them, on
 * SQLite and on PostgreSQL. A trainer that registers again does not undo an
 * operator's rule.
 */
describe.each(STORE_ENGINES)('alerts kept on %s', (_name, makeFixture) => {
  const fixture: StoreEngineFixture = makeFixture();
  let store: TestStore;
  let server: TestServer | undefined;
  let receiver: Server;
  let hookUrl = '';
  const received: { path: string; body: Record<string, unknown> }[] = [];
  const closers: (() => void)[] = [];

  beforeAll(async () => {
    await fixture.setUp();
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
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/secret-path?token=s3cret`;
  }, 60_000);
  afterAll(async () => {
    await fixture.tearDown();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });
  beforeEach(async () => {
    store = await fixture.newStore();
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await server?.shutdown();
    server = undefined;
    store.remove();
  });

  async function start(): Promise<{
    grpc: DashboardApi;
    web: DashboardApi;
    telemetry: ReturnType<typeof telemetryClient>;
  }> {
    server = await startTestServer({
      ...store.env,
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_RETRY_BASE_MS: '20',
    });
    const grpc = grpcDashboard(server.grpcAddress);
    const web = grpcWebDashboard(server.httpUrl);
    const telemetry = telemetryClient(server.grpcAddress);
    closers.push(
      () => grpc.close(),
      () => web.close(),
      () => telemetry.close(),
    );
    return { grpc, web, telemetry };
  }

  async function restart() {
    await server?.shutdown();
    server = undefined;
    for (const close of closers.splice(0)) close();
    return start();
  }

  it('keeps alerts, acknowledgements, operator rules and webhook URLs across a restart, and keeps folding firings into the open alert', async () => {
    let clients = await start();
    const sessionId = 'kept-run';
    const registered = await register(clients.telemetry, {
      sessionId,
      // A stream that ends without a final status would raise one more alert.
      alertRules: [
        { kind: AlertRuleKind.PLATEAU, disabled: true },
        { kind: AlertRuleKind.DISCONNECTED, disabled: true },
      ],
      webhookUrls: [hookUrl],
    });
    const watch = clients.grpc.watch(sessionId);
    await snapshotOf(watch);
    let stream = new TrainerStreamClient(clients.telemetry, sessionId, registered.resumeToken);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await stream.waitForAck(1n);

    // An operator turns the spike rule off and sets a 5 s stall window.
    const set = await clients.web.setAlertRules({
      sessionId,
      rules: [
        { kind: AlertRuleKind.LOSS_SPIKE, disabled: true },
        { kind: AlertRuleKind.STALL, window: 5000n, threshold: 3 },
      ],
      updatedBy: 'ops',
    });
    expect(ruleOf(set.settings?.rules, AlertRuleKind.LOSS_SPIKE)?.disabled).toBe(true);
    expect(ruleOf(set.settings?.rules, AlertRuleKind.STALL)).toMatchObject({
      window: 5000n,
      threshold: 3,
      action: AlertAction.NOTIFY,
    });
    expect(ruleOf(set.settings?.rules, AlertRuleKind.PLATEAU)?.disabled).toBe(true);
    // The URL's path and token stay on the server.
    expect(set.settings?.webhookUrls).toEqual([`${new URL(hookUrl).origin}/…`]);
    expect(set.settings?.updatedBy).toBe('ops');

    stream.batch(2n, 0, 0, { batchLoss: Number.NaN });
    await stream.waitForAck(2n);
    const first = await waitFor(() => alertsOf(watch)[0], { what: 'the NaN alert' });
    const posted = await waitFor(
      () => received.find((post) => post.body['alert_id'] === first.alertId),
      {
        what: "the session's webhook POST",
      },
    );
    expect(posted.path).toBe('/hook/secret-path?token=s3cret');
    expect(posted.body['text']).toMatch(/kept-run: non-finite value: loss is NaN/);
    await clients.grpc.acknowledgeAlert({
      sessionId,
      alertId: first.alertId,
      acknowledgedBy: 'ana',
    });
    stream.batch(3n, 0, 1, { batchLoss: Number.POSITIVE_INFINITY });
    await stream.waitForAck(3n);
    const second = await waitFor(
      () => alertsOf(watch).find((alert) => alert.alertId !== first.alertId),
      { what: 'a second NaN alert' },
    );
    watch.cancel();
    stream.end();
    await stream.waitForStatus();

    clients = await restart();
    // Listed from the store (not in memory): the open alert counts.
    const listed = await summaryOf(clients.web, sessionId);
    expect(listed?.openAlerts).toBe(1);
    const after = clients.web.watch(sessionId);
    const snapshot = await snapshotOf(after);
    expect(snapshot.alerts.map((alert) => [alert.alertId, alert.acknowledgedBy])).toEqual([
      [first.alertId, 'ana'],
      [second.alertId, ''],
    ]);
    expect(snapshot.alerts[1]?.message).toMatch(/loss is Infinity/);
    expect(ruleOf(snapshot.alertRules, AlertRuleKind.LOSS_SPIKE)?.disabled).toBe(true);
    expect(ruleOf(snapshot.alertRules, AlertRuleKind.STALL)?.window).toBe(5000n);
    expect(snapshot.alertSettings?.updatedBy).toBe('ops');
    expect(snapshot.alertSettings?.webhookUrls).toEqual([`${new URL(hookUrl).origin}/…`]);
    expect(snapshot.session?.openAlerts).toBe(1);

    // The trainer comes back asking for a 1 s stall window: the operator's 5 s stands.
    const again = await register(clients.telemetry, {
      sessionId,
      resumeToken: registered.resumeToken,
      alertRules: [
        { kind: AlertRuleKind.STALL, window: 1000n },
        { kind: AlertRuleKind.DISCONNECTED, disabled: true },
      ],
      webhookUrls: [hookUrl],
    });
    expect(again.success).toBe(true);
    const changed = await waitFor(() => settingsOf(after).at(-1), {
      what: 'the settings event of the registration',
    });
    expect(ruleOf(changed.rules, AlertRuleKind.STALL)?.window).toBe(5000n);
    expect(ruleOf(changed.rules, AlertRuleKind.LOSS_SPIKE)?.disabled).toBe(true);

    // Another non-finite value folds into the open alert kept across the restart; no new POST.
    const posts = received.length;
    stream = new TrainerStreamClient(clients.telemetry, sessionId, registered.resumeToken);
    stream.batch(10n, 0, 2, { batchLoss: Number.NaN });
    await stream.waitForAck(10n);
    const folded = await waitFor(
      () => alertsOf(after).find((alert) => alert.alertId === second.alertId && alert.count === 2),
      { what: 'the firing folded into the kept alert' },
    );
    expect(folded.acknowledgedAtMs).toBe(0n);
    expect(new Set(alertsOf(after).map((alert) => alert.alertId))).toEqual(
      new Set([second.alertId]),
    );
    expect(received.length).toBe(posts);
    after.cancel();
    stream.end();
    await stream.waitForStatus();
  }, 60_000);

  it('raises no DISCONNECTED alert for streams the server ends by stopping; a trainer that leaves without a final status still raises one', async () => {
    let clients = await start();
    for (const sessionId of ['left', 'restarted']) {
      await register(clients.telemetry, { sessionId });
      const stream = new TrainerStreamClient(clients.telemetry, sessionId);
      closers.push(() => stream.end());
      stream.batch(1n, 0, 0);
      await stream.waitForAck(1n);
      if (sessionId === 'left') {
        stream.end();
        await waitFor(async () => (await summaryOf(clients.grpc, 'left'))?.openAlerts === 1, {
          what: 'the alert of a trainer that left',
        });
      }
    }
    clients = await restart();
    expect((await summaryOf(clients.grpc, 'left'))?.openAlerts).toBe(1);
    expect((await summaryOf(clients.grpc, 'restarted'))?.openAlerts).toBe(0);
  });

  it('rolls migration 0030 back and forward, keeping the runs stored before it', async () => {
    const clients = await start();
    await register(clients.telemetry, { sessionId: 'before-alerts' });
    await server?.shutdown();
    server = undefined;
    const open = await store.open();
    try {
      const migrator = new Migrator({ db: open.db, provider: migrationProvider(open.engine) });
      const down = await migrator.migrateTo('0020-auth');
      expect(down.error).toBeUndefined();
      // 0030 and every later migration, newest first.
      const after = Object.keys(storeMigrations(open.engine)).filter((name) => name >= '0030');
      expect(down.results?.map((result) => [result.migrationName, result.direction])).toEqual(
        after.reverse().map((name) => [name, 'Down']),
      );
      const up = await migrator.migrateToLatest();
      expect(up.error).toBeUndefined();
      const row = await open.db
        .selectFrom('sessions')
        .select(['id', 'open_alerts'])
        .where('id', '=', 'before-alerts')
        .executeTakeFirst();
      expect(row).toEqual({ id: 'before-alerts', open_alerts: 0 });
      expect(await open.db.selectFrom('alerts').selectAll().execute()).toEqual([]);
    } finally {
      await open.close();
    }
  }, 60_000);
});
