import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import { status } from '@grpc/grpc-js';
import type { LoggerService } from '@nestjs/common';
import {
  AdminService,
  AlertRuleKind,
  AuthService,
  CommandState,
  CommandType,
  DashboardService,
  Role,
  TrainingStatus,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { AUTH_STORE } from '../src/auth/auth-tokens';
import type { AuthStore } from '../src/auth/auth-store';
import {
  TrainerStreamClient,
  expectCallError,
  grpcDashboard,
  grpcWebDashboard,
  register,
  scalarEvents,
  serviceClient,
  startTestServer,
  telemetryClient,
  type DashboardApi,
  type TestServer,
} from './harness';

/** Every line the server logs or prints during this file, to check no secret appears in any. */
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

const PASSWORD = 'correct horse battery staple';
/** Every secret this file uses; none may appear in a log line. */
const secrets: string[] = [PASSWORD];

let server: TestServer;
let store: AuthStore;
let trainerKey: string;
let otherKey: string;
let viewerToken: string;
let operatorToken: string;
const writes: jest.SpyInstance[] = [];

/** Signs in over gRPC-Web; returns the session token from the Set-Cookie header. */
async function signIn(userName: string): Promise<{ token: string; cookie: string }> {
  const client = createClient(
    AuthService,
    createGrpcWebTransport({ baseUrl: server.httpUrl, httpVersion: '1.1' }),
  );
  let cookie = '';
  const response = await client.signIn(
    { userName, password: PASSWORD },
    { onHeader: (headers) => (cookie = headers.get('set-cookie') ?? '') },
  );
  // The token travels only in the httpOnly cookie: script in the page cannot read it.
  expect(response.sessionToken).toBe('');
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  const token = /trainwatch_session=([^;]+)/.exec(cookie)?.[1] ?? '';
  expect(token).not.toBe('');
  secrets.push(token);
  return { token, cookie: `trainwatch_session=${token}` };
}

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    writes.push(
      jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: never[]) => {
        logLines.push(String(chunk));
        return original(chunk as string, ...rest);
      }) as typeof stream.write),
    );
  }
  server = await startTestServer({ AUTH: 'required' }, { logger: capturingLogger });
  store = server.app.get<symbol, AuthStore>(AUTH_STORE);
  await store.createUser('vera', 'viewer', PASSWORD);
  await store.createUser('otto', 'operator', PASSWORD);
  await store.createUser('tina', 'viewer', PASSWORD);
  trainerKey = (await store.createKey('tina', 'gpu-1')).secret;
  otherKey = (await store.createKey('tina', 'gpu-2')).secret;
  secrets.push(trainerKey, otherKey);
  viewerToken = (await signIn('vera')).token;
  operatorToken = (await signIn('otto')).token;
}, 30_000);

afterAll(async () => {
  await server.shutdown();
  for (const spy of writes) spy.mockRestore();
});

/** Both transports for one bearer (gRPC-Web: the sign-in cookie, or a bearer header for keys). */
function dashboards(secret: string, how: 'cookie' | 'bearer'): DashboardApi[] {
  const headers: Record<string, string> =
    how === 'cookie'
      ? { cookie: `trainwatch_session=${secret}` }
      : { authorization: `Bearer ${secret}` };
  return [
    grpcDashboard(server.grpcAddress, { bearer: secret }),
    grpcWebDashboard(server.httpUrl, { headers }),
  ];
}

/** A registered session streaming with `key`, acked once. */
async function streamingTrainer(key: string) {
  const telemetry = telemetryClient(server.grpcAddress, key);
  const { sessionId } = await register(telemetry);
  const stream = new TrainerStreamClient(telemetry, sessionId);
  stream.batch(1n, 0, 0);
  await stream.waitForAck(1n);
  return { telemetry, stream, sessionId };
}

describe('AUTH=required', () => {
  it('trainers without an API key, or with a wrong one, get UNAUTHENTICATED on both rpcs', async () => {
    const healthy = await streamingTrainer(trainerKey);
    for (const key of [undefined, 'twk_not-a-key']) {
      const telemetry = telemetryClient(server.grpcAddress, key);
      const refused = await expectCallError(register(telemetry));
      expect(refused.code).toBe(status.UNAUTHENTICATED);
      const stream = new TrainerStreamClient(telemetry, healthy.sessionId);
      stream.batch(1n, 0, 0);
      expect((await stream.waitForStatus()).code).toBe(status.UNAUTHENTICATED);
      telemetry.close();
    }
    // The keyed trainer of the same server is unaffected.
    healthy.stream.batch(2n, 0, 1);
    await healthy.stream.waitForAck(2n);
    healthy.stream.end();
  });

  it('dashboards without sign-in get UNAUTHENTICATED on both transports', async () => {
    for (const dashboard of [grpcDashboard(server.grpcAddress), grpcWebDashboard(server.httpUrl)]) {
      const refused = await expectCallError(dashboard.listSessions());
      expect([dashboard.name, refused.code]).toEqual([dashboard.name, status.UNAUTHENTICATED]);
      dashboard.close();
    }
  });

  it('a browser call Envoy translated to native gRPC is signed in by its session cookie', async () => {
    const translated = (cookie: string) =>
      serviceClient(DashboardService, 'native gRPC', server, { cookie });
    const listed = await translated(`theme=dark; trainwatch_session=${viewerToken}`).listSessions(
      {},
    );
    expect(listed.sessions).toBeDefined();
    const refused = await expectCallError(
      translated('trainwatch_session=tws_not-a-token').listSessions({}),
    );
    expect(refused.code).toBe(status.UNAUTHENTICATED);
  });

  it('a trainer key on DashboardService gets PERMISSION_DENIED on both transports', async () => {
    for (const dashboard of dashboards(trainerKey, 'bearer')) {
      const refused = await expectCallError(dashboard.listSessions());
      expect([dashboard.name, refused.code]).toEqual([dashboard.name, status.PERMISSION_DENIED]);
      expect(refused.message).toMatch(/API key may only call TelemetryService/);
      dashboard.close();
    }
  });

  it("a viewer watches but SendCommand is PERMISSION_DENIED; an operator's works and the audit names them", async () => {
    const { stream, sessionId } = await streamingTrainer(trainerKey);
    for (const viewer of dashboards(viewerToken, 'cookie')) {
      const sessions = await viewer.listSessions();
      expect(sessions.sessions.map((s) => s.sessionId)).toContain(sessionId);
      const refused = await expectCallError(
        viewer.sendCommand({ sessionId, type: CommandType.STOP }),
      );
      expect([viewer.name, refused.code]).toEqual([viewer.name, status.PERMISSION_DENIED]);
      expect(refused.message).toMatch(
        /vera is a viewer; DashboardService\/SendCommand needs the operator role/,
      );
      viewer.close();
    }
    for (const operator of dashboards(operatorToken, 'cookie')) {
      const watch = operator.watch(sessionId);
      await waitFor(() => watch.events.length > 0, { what: 'snapshot' });
      const before = stream.commands().length;
      // The client's issued_by is not trusted: the audit names the signed-in user.
      const pending = operator.sendCommand({
        sessionId,
        type: CommandType.PAUSE,
        issuedBy: 'mallory',
      });
      const command = await waitFor(() => stream.commands()[before], { what: 'command' });
      expect(command.issuedBy).toBe('otto');
      stream.send(BigInt(2 + before), {
        case: 'commandResult',
        value: { commandId: command.commandId, success: true, message: 'paused' },
      });
      const response = await pending;
      expect(response.entry).toMatchObject({
        issuedBy: 'otto',
        issuedByVerified: true,
        state: CommandState.SUCCEEDED,
      });
      await waitFor(
        () =>
          scalarEvents(watch).find(
            (event) => event.event.case === 'command' && event.event.value.issuedBy === 'otto',
          ),
        { what: 'audit event naming otto' },
      );
      watch.cancel();
      operator.close();
    }
    stream.end();
  });

  it('a viewer cannot acknowledge an alert; an operator can and is named, whatever the request says', async () => {
    const viewers = dashboards(viewerToken, 'cookie');
    for (const [index, operator] of dashboards(operatorToken, 'cookie').entries()) {
      const { stream, sessionId } = await streamingTrainer(trainerKey);
      const watch = operator.watch(sessionId);
      await waitFor(() => watch.events[0], { what: 'snapshot' });
      // A NaN loss in a running session raises the watchdog's non-finite alert.
      stream.send(2n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
      stream.batch(3n, 0, 1, { batchLoss: Number.NaN });
      const alert = await waitFor(
        () =>
          watch.events.flatMap((event) =>
            event.event.case === 'alert' ? [event.event.value] : [],
          )[0],
        { what: 'the NaN alert' },
      );
      const alertId = alert.alertId;
      const viewer = viewers[index]!;
      const refused = await expectCallError(
        viewer.acknowledgeAlert({ sessionId, alertId, acknowledgedBy: 'vera' }),
      );
      expect([viewer.name, refused.code]).toEqual([viewer.name, status.PERMISSION_DENIED]);
      const acknowledged = await operator.acknowledgeAlert({
        sessionId,
        alertId,
        acknowledgedBy: 'mallory',
      });
      expect([operator.name, acknowledged.alert?.acknowledgedBy]).toEqual([operator.name, 'otto']);
      watch.cancel();
      operator.close();
      stream.end();
    }
  });

  it("a viewer cannot change a run's alert rules or acknowledge its alerts; an operator can, and is named as who changed them", async () => {
    const { stream, sessionId } = await streamingTrainer(trainerKey);
    for (const viewer of dashboards(viewerToken, 'cookie')) {
      const refused = await expectCallError(
        viewer.setAlertRules({
          sessionId,
          rules: [{ kind: AlertRuleKind.PLATEAU, disabled: true }],
        }),
      );
      expect([viewer.name, refused.code]).toEqual([viewer.name, status.PERMISSION_DENIED]);
      expect(refused.message).toMatch(/DashboardService\/SetAlertRules needs the operator role/);
      const ack = await expectCallError(viewer.acknowledgeAlert({ sessionId, alertId: 'any' }));
      expect([viewer.name, ack.code]).toEqual([viewer.name, status.PERMISSION_DENIED]);
      viewer.close();
    }
    for (const operator of dashboards(operatorToken, 'cookie')) {
      const set = await operator.setAlertRules({
        sessionId,
        rules: [{ kind: AlertRuleKind.PLATEAU, disabled: true }],
        updatedBy: 'someone else',
      });
      expect([operator.name, set.settings?.updatedBy]).toEqual([operator.name, 'otto']);
      operator.close();
    }
    stream.end();
  });

  it('a revoked key is refused at once; a signed-out token too', async () => {
    const { id, secret } = await store.createKey('tina', 'short-lived');
    secrets.push(secret);
    const telemetry = telemetryClient(server.grpcAddress, secret);
    await register(telemetry);
    await store.revokeKey(id);
    const started = Date.now();
    expect((await expectCallError(register(telemetry))).code).toBe(status.UNAUTHENTICATED);
    expect(Date.now() - started).toBeLessThan(1000);
    telemetry.close();

    const { token, cookie } = await signIn('vera');
    const web = grpcWebDashboard(server.httpUrl, { headers: { cookie } });
    await web.listSessions();
    const auth = createClient(
      AuthService,
      createGrpcWebTransport({
        baseUrl: server.httpUrl,
        httpVersion: '1.1',
        interceptors: [
          (next) => (request) => (request.header.set('cookie', cookie), next(request)),
        ],
      }),
    );
    expect((await auth.whoAmI({})).identity).toMatchObject({ userName: 'vera', role: Role.VIEWER });
    let cleared = '';
    await auth.signOut({}, { onHeader: (headers) => (cleared = headers.get('set-cookie') ?? '') });
    expect(cleared).toMatch(/trainwatch_session=;.*Max-Age=0/);
    expect((await expectCallError(web.listSessions())).code).toBe(status.UNAUTHENTICATED);
    const native = grpcDashboard(server.grpcAddress, { bearer: token });
    expect((await expectCallError(native.listSessions())).code).toBe(status.UNAUTHENTICATED);
    native.close();
  });

  it("one key cannot write another key's session: register and stream are PERMISSION_DENIED", async () => {
    const owner = await streamingTrainer(trainerKey);
    const intruder = telemetryClient(server.grpcAddress, otherKey);
    const refused = await expectCallError(register(intruder, { sessionId: owner.sessionId }));
    expect(refused.code).toBe(status.PERMISSION_DENIED);
    expect(refused.message).toMatch(/another API key/);
    const stream = new TrainerStreamClient(intruder, owner.sessionId);
    stream.batch(100n, 0, 5);
    expect((await stream.waitForStatus()).code).toBe(status.PERMISSION_DENIED);
    // The owner's stream goes on; the owner itself may re-register (no resume token needed).
    owner.stream.batch(2n, 0, 1);
    await owner.stream.waitForAck(2n);
    const again = await register(owner.telemetry, { sessionId: owner.sessionId });
    expect(again.resumed).toBe(true);
    owner.stream.end();
    intruder.close();
  });

  it('the first admin is created with ADMIN_TOKEN only while there are no users', async () => {
    const fresh = await startTestServer(
      { AUTH: 'required', ADMIN_TOKEN: 'setup-secret-123456' },
      { logger: capturingLogger },
    );
    secrets.push('setup-secret-123456');
    try {
      const auth = createClient(
        AuthService,
        createGrpcWebTransport({ baseUrl: fresh.httpUrl, httpVersion: '1.1' }),
      );
      // The sign-in page learns, without signing in, that it should offer the set-up form.
      expect(await auth.getSignInOptions({})).toMatchObject({
        authRequired: true,
        firstAdminNeeded: true,
      });
      const wrong = await expectCallError(
        auth.setUpFirstAdmin({ setupToken: 'nope', userName: 'root', password: PASSWORD }),
      );
      expect(wrong.code).toBe(status.UNAUTHENTICATED);
      let cookie = '';
      const made = await auth.setUpFirstAdmin(
        { setupToken: 'setup-secret-123456', userName: 'root', password: PASSWORD },
        { onHeader: (headers) => (cookie = headers.get('set-cookie') ?? '') },
      );
      expect(made.identity).toMatchObject({ userName: 'root', role: Role.ADMIN });
      secrets.push(/trainwatch_session=([^;]+)/.exec(cookie)?.[1] ?? 'missing');
      const again = await expectCallError(
        auth.setUpFirstAdmin({
          setupToken: 'setup-secret-123456',
          userName: 'root2',
          password: PASSWORD,
        }),
      );
      expect(again.code).toBe(status.FAILED_PRECONDITION);
      expect(await auth.getSignInOptions({})).toMatchObject({ firstAdminNeeded: false });
    } finally {
      await fresh.shutdown();
    }
  });

  it('keys made and revoked through AdminService, with a stream open, leave no secret behind', async () => {
    await store.createUser('ada', 'admin', PASSWORD);
    const { cookie } = await signIn('ada');
    const admin = serviceClient(AdminService, 'gRPC-Web', server, { cookie });
    const made = await admin.createApiKey({ userName: 'tina', name: 'via-admin' });
    secrets.push(made.secret);
    const { stream } = await streamingTrainer(made.secret);
    await admin.revokeApiKey({ keyId: made.key?.keyId ?? '' });
    expect((await stream.waitForStatus(1000)).code).toBe(status.UNAUTHENTICATED);
  });

  it('no key, token or password used in this file appears in any log line, nor in /metrics', async () => {
    logLines.push(await (await fetch(`${server.httpUrl}/metrics`)).text());
    // The capture saw the server's lines (the set-up warning at least), so this is not vacuous.
    expect(logLines.some((line) => line.includes('no users yet'))).toBe(true);
    expect(secrets.length).toBeGreaterThan(5);
    const everything = logLines.join('\n');
    for (const secret of secrets) expect(everything.includes(secret)).toBe(false);
  });
});
