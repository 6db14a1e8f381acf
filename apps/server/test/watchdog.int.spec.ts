import {
  AlertAction,
  AlertRuleKind,
  CommandType,
  TrainingStatus,
  type Alert,
  type SessionSnapshot,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  grpcDashboard,
  grpcWebDashboard,
  HealthySession,
  register,
  startTestServer,
  summaryOf,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
  type WatchHandle,
} from './harness';

/** Short enough for a test, long enough that a busy machine's batches never look stalled. */
const STALL_MIN_MS = 600;
const CHECK_INTERVAL_MS = 50;

const alertsOf = (watch: WatchHandle): Alert[] =>
  watch.events.flatMap((event) => (event.event.case === 'alert' ? [event.event.value] : []));

async function snapshotOf(watch: WatchHandle): Promise<SessionSnapshot> {
  const first = await waitFor(() => watch.events[0], { what: 'snapshot' });
  if (first.event.case !== 'snapshot') throw new Error(`first event is ${first.event.case}`);
  return first.event.value;
}

/**
 * The watchdog over real sockets: rules fire on what trainers send, the
 * NaN rule pauses the run once however many NaNs follow, alerts reach
 * watchers and are acknowledged, a stall is seen on time; a healthy
 * session next to it sees none of it.
 */
describe.each([
  ['native gRPC', (server: TestServer) => grpcDashboard(server.grpcAddress)],
  ['gRPC-Web', (server: TestServer) => grpcWebDashboard(server.httpUrl)],
])('watchdog over %s', (name, connect) => {
  let server: TestServer;
  let dashboard: DashboardApi;
  let telemetry: ReturnType<typeof telemetryClient>;
  let healthy: HealthySession;
  let healthyWatch: WatchHandle;
  let counter = 0;
  const nextId = () => `watchdog-${name.replace(/\W/g, '')}-${++counter}`;

  beforeAll(async () => {
    server = await startTestServer({
      WATCHDOG_STALL_MIN_MS: String(STALL_MIN_MS),
      WATCHDOG_CHECK_INTERVAL_MS: String(CHECK_INTERVAL_MS),
    });
    dashboard = connect(server);
    telemetry = telemetryClient(server.grpcAddress);
    healthy = new HealthySession(telemetry, nextId());
    await healthy.start();
    healthyWatch = dashboard.watch(healthy.sessionId);
    await snapshotOf(healthyWatch);
  });

  afterAll(async () => {
    healthyWatch.cancel();
    healthy.end();
    telemetry.close();
    dashboard.close();
    await server.shutdown();
  });

  async function trainer(): Promise<TrainerStreamClient> {
    const sessionId = nextId();
    await register(telemetry, { sessionId });
    const stream = new TrainerStreamClient(telemetry, sessionId);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await stream.waitForAck(1n);
    return stream;
  }

  it('a NaN every batch is one alert and one PAUSE with the reason, audited as issued by the watchdog; acknowledged, the next NaN raises a new one', async () => {
    const stream = await trainer();
    const watch = dashboard.watch(stream.sessionId);
    const snapshot = await snapshotOf(watch);
    expect(snapshot.alertRules.map((rule) => AlertRuleKind[rule.kind])).toContain('NON_FINITE');
    expect(snapshot.alertRules.find((rule) => rule.kind === AlertRuleKind.NON_FINITE)?.action).toBe(
      AlertAction.PAUSE,
    );

    const storm = 90;
    stream.batch(2n, 0, 0, { batchLoss: 0.5 });
    for (let index = 1; index <= storm; index++) {
      stream.batch(BigInt(index + 2), 0, index, { batchLoss: Number.NaN });
    }
    await stream.waitForAck(BigInt(storm + 2));
    expect(stream.errors()).toEqual([]);

    const pause = await waitFor(() => stream.commands()[0], { what: 'the PAUSE command' });
    expect(pause.type).toBe(CommandType.PAUSE);
    expect(pause.issuedBy).toBe('watchdog');
    expect(pause.reason).toMatch(/non-finite value: loss is NaN at step 1/);
    stream.send(BigInt(storm + 3), {
      case: 'commandResult',
      value: {
        commandId: pause.commandId,
        success: true,
        message: 'paused',
        status: TrainingStatus.PAUSED,
      },
    });
    await stream.waitForAck(BigInt(storm + 3));

    // Every firing folded into one alert: watchers heard of it at 1, 2, 4... 64 firings.
    await waitFor(() => alertsOf(watch).find((alert) => alert.count === 64), {
      what: 'the folded alert at 64 firings',
    });
    const alerts = alertsOf(watch);
    expect(new Set(alerts.map((alert) => alert.alertId)).size).toBe(1);
    expect(alerts.length).toBeLessThanOrEqual(8);
    expect(alerts[0]).toMatchObject({
      kind: AlertRuleKind.NON_FINITE,
      action: AlertAction.PAUSE,
      series: 'loss',
      step: 1n,
      count: 1,
      commandId: pause.commandId,
    });
    expect(alerts[0]?.value).toBeNaN();
    expect(stream.commands()).toHaveLength(1);

    const summary = await summaryOf(dashboard, stream.sessionId);
    expect(summary?.openAlerts).toBe(1);
    expect(summary?.status).toBe(TrainingStatus.PAUSED);
    const late = dashboard.watch(stream.sessionId);
    const later = await snapshotOf(late);
    late.cancel();
    expect(later.alerts).toHaveLength(1);
    expect(later.alerts[0]?.count).toBe(storm);
    expect(later.commands.map((entry) => [entry.issuedBy, entry.reason])).toEqual([
      ['watchdog', pause.reason],
    ]);

    const alertId = alerts[0]?.alertId ?? '';
    const acknowledged = await dashboard.acknowledgeAlert({
      sessionId: stream.sessionId,
      alertId,
      acknowledgedBy: 'ana',
    });
    expect(acknowledged.alert).toMatchObject({ alertId, acknowledgedBy: 'ana' });
    expect(acknowledged.alert?.acknowledgedAtMs).toBeGreaterThan(0n);
    await waitFor(
      () => alertsOf(watch).find((alert) => alert.alertId === alertId && alert.acknowledgedBy),
      { what: 'the acknowledged alert' },
    );
    expect((await summaryOf(dashboard, stream.sessionId))?.openAlerts).toBe(0);

    // Paused already: a new alert, no second PAUSE.
    stream.batch(BigInt(storm + 4), 0, storm + 1, { batchLoss: Number.POSITIVE_INFINITY });
    const second = await waitFor(() => alertsOf(watch).find((alert) => alert.alertId !== alertId), {
      what: 'a second alert',
    });
    expect(second.message).toMatch(/loss is Infinity/);
    expect(stream.commands()).toHaveLength(1);

    watch.cancel();
    stream.end();
    await healthy.stillAcked();
    expect(alertsOf(healthyWatch)).toEqual([]);
  });

  it('acknowledging an alert the session does not have is NOT_FOUND', async () => {
    const stream = await trainer();
    await expect(
      dashboard.acknowledgeAlert({ sessionId: stream.sessionId, alertId: 'nope' }),
    ).rejects.toThrow(/has no alert nope/);
    stream.end();
  });

  it('a trainer that stops sending batches raises a stall alert within the stall bound; a session that keeps sending does not', async () => {
    const stream = await trainer();
    const watch = dashboard.watch(stream.sessionId);
    await snapshotOf(watch);
    for (let index = 0; index < 5; index++) stream.batch(BigInt(index + 2), 0, index);
    await stream.waitForAck(6n);
    const lastBatchAt = Date.now();
    // The healthy session keeps sending while the other one is silent.
    const deadline = lastBatchAt + STALL_MIN_MS * 5;
    let stall: Alert | undefined;
    while (stall === undefined && Date.now() < deadline) {
      await healthy.stillAcked();
      stall = alertsOf(watch).find((alert) => alert.kind === AlertRuleKind.STALL);
    }
    expect(stall).toBeDefined();
    const after = Number(stall?.firstAtMs ?? 0n) - lastBatchAt;
    expect(after).toBeGreaterThanOrEqual(STALL_MIN_MS - CHECK_INTERVAL_MS);
    expect(after).toBeLessThan(STALL_MIN_MS * 3);
    expect(stall?.message).toMatch(/no batch from .* for/);
    expect(alertsOf(healthyWatch)).toEqual([]);
    watch.cancel();
    stream.end();
  });

  it('rules a trainer asks for at registration replace the defaults; a bad one is refused with INVALID_ARGUMENT naming it', async () => {
    const sessionId = nextId();
    await register(telemetry, {
      sessionId,
      alertRules: [{ kind: AlertRuleKind.NON_FINITE, action: AlertAction.NOTIFY }],
    });
    const stream = new TrainerStreamClient(telemetry, sessionId);
    const watch = dashboard.watch(sessionId);
    const snapshot = await snapshotOf(watch);
    expect(snapshot.alertRules.find((rule) => rule.kind === AlertRuleKind.NON_FINITE)?.action).toBe(
      AlertAction.NOTIFY,
    );
    stream.batch(1n, 0, 0, { batchLoss: Number.NaN });
    await waitFor(() => alertsOf(watch)[0], { what: 'the NaN alert' });
    expect(stream.commands()).toEqual([]);
    watch.cancel();
    stream.end();
    await expect(
      register(telemetry, {
        sessionId: nextId(),
        alertRules: [{ kind: AlertRuleKind.LOSS_SPIKE, threshold: -1 }],
      }),
    ).rejects.toThrow(/alert_rules\[0\]: threshold must be a finite number >= 0/);
  });
});
