import { status } from '@grpc/grpc-js';
import { AdminService, AuthService, Role } from '@trainwatch/proto';
// eslint-disable-next-line @nx/enforce-module-boundaries -- what a trainer sees when its key is revoked mid-run is under test: the SDK is that trainer.
import { TrainingSession, type SessionError } from '@trainwatch/trainer-sdk';
import { waitFor } from '@trainwatch/testing';
import { AUTH_STORE } from '../src/auth/auth-tokens';
import type { AuthStore } from '../src/auth/auth-store';
import {
  HealthySession,
  TrainerStreamClient,
  expectCallError,
  grpcDashboard,
  grpcWebDashboard,
  register,
  serviceClient,
  startTestServer,
  telemetryClient,
  type TestServer,
} from './harness';

const PASSWORD = 'correct horse battery staple';
const BINDINGS = ['native gRPC', 'gRPC-Web'] as const;

let server: TestServer;
let store: AuthStore;
/** Session tokens by user name (sign-in over native gRPC returns the token). */
const tokens: Record<string, string> = {};

async function signIn(userName: string): Promise<string> {
  const auth = serviceClient(AuthService, 'native gRPC', server);
  return (await auth.signIn({ userName, password: PASSWORD })).sessionToken;
}

/** AdminService as `userName` over `binding` (gRPC-Web: the session cookie, as a browser sends it). */
function adminAs(userName: string, binding: (typeof BINDINGS)[number]) {
  const token = tokens[userName] ?? '';
  return serviceClient(
    AdminService,
    binding,
    server,
    binding === 'gRPC-Web'
      ? { cookie: `trainwatch_session=${token}` }
      : { authorization: `Bearer ${token}` },
  );
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

beforeAll(async () => {
  server = await startTestServer({ AUTH: 'required' });
  store = server.app.get<symbol, AuthStore>(AUTH_STORE);
  await store.createUser('ada', 'admin', PASSWORD);
  await store.createUser('otto', 'operator', PASSWORD);
  await store.createUser('vera', 'viewer', PASSWORD);
  for (const name of ['ada', 'otto', 'vera']) tokens[name] = await signIn(name);
}, 30_000);

afterAll(() => server.shutdown());

describe('AdminService', () => {
  it.each(BINDINGS)(
    'over %s an admin creates a user, sets a role, creates, lists and revokes a key',
    async (binding) => {
      const admin = adminAs('ada', binding);
      const name = binding === 'gRPC-Web' ? 'web-made' : 'grpc-made';
      const user = await admin.createUser({
        userName: name,
        role: Role.VIEWER,
        password: PASSWORD,
      });
      expect(user).toMatchObject({ userName: name, role: Role.VIEWER });
      expect(await admin.setUserRole({ userName: name, role: Role.OPERATOR })).toMatchObject({
        userName: name,
        role: Role.OPERATOR,
      });
      const users = (await admin.listUsers({})).users.map((u) => [u.userName, u.role]);
      expect(users).toContainEqual([name, Role.OPERATOR]);
      // The new user can sign in with the password the admin gave.
      expect(await signIn(name)).toMatch(/^tws_/);

      const created = await admin.createApiKey({ userName: name, name: 'gpu-7' });
      expect(created.secret).toMatch(/^twk_/);
      expect(created.key).toMatchObject({ userName: name, name: 'gpu-7', revokedAtMs: 0n });
      const keyId = created.key?.keyId ?? '';
      // The key works for a trainer at once.
      const telemetry = telemetryClient(server.grpcAddress, created.secret);
      await register(telemetry);
      const listed = (await admin.listApiKeys({})).keys.find((key) => key.keyId === keyId);
      expect(listed).toMatchObject({ userName: name, name: 'gpu-7', revokedAtMs: 0n });
      // Lists never carry a secret: the response has no field for one.
      expect(
        JSON.stringify((await admin.listApiKeys({})).keys, (_k, v: unknown) =>
          typeof v === 'bigint' ? String(v) : v,
        ),
      ).not.toContain(created.secret);

      const revoked = await admin.revokeApiKey({ keyId });
      expect(revoked.revokedAtMs).toBeGreaterThan(0n);
      expect((await expectCallError(register(telemetry))).code).toBe(status.UNAUTHENTICATED);
      telemetry.close();
    },
  );

  it.each(BINDINGS)(
    'over %s bad input is INVALID_ARGUMENT naming what was wrong',
    async (binding) => {
      const admin = adminAs('ada', binding);
      const taken = await expectCallError(
        admin.createUser({ userName: 'vera', role: Role.VIEWER, password: PASSWORD }),
      );
      expect([taken.code, taken.message]).toEqual([
        status.INVALID_ARGUMENT,
        'user "vera" already exists',
      ]);
      const short = await expectCallError(
        admin.createUser({ userName: 'shorty', role: Role.VIEWER, password: 'abc' }),
      );
      expect(short.message).toMatch(/password must be 8 to 1024 characters/);
      const noRole = await expectCallError(
        admin.setUserRole({ userName: 'vera', role: Role.UNSPECIFIED }),
      );
      expect(noRole.message).toMatch(/role must be viewer, operator or admin/);
      const unknownKey = await expectCallError(admin.revokeApiKey({ keyId: 'nope' }));
      expect([unknownKey.code, unknownKey.message]).toEqual([
        status.INVALID_ARGUMENT,
        'no active API key with id "nope"',
      ]);
    },
  );

  it.each(BINDINGS)(
    'over %s operators, viewers and trainer keys get PERMISSION_DENIED on every rpc',
    async (binding) => {
      const { secret } = await store.createKey('vera', `denied-${binding.length}`);
      const callers = [
        [
          'otto',
          adminAs('otto', binding),
          /otto is an operator; AdminService\/\w+ needs the admin role/,
        ],
        [
          'vera',
          adminAs('vera', binding),
          /vera is a viewer; AdminService\/\w+ needs the admin role/,
        ],
        [
          'key',
          serviceClient(AdminService, binding, server, { authorization: `Bearer ${secret}` }),
          /an API key may only call TelemetryService/,
        ],
      ] as const;
      for (const [who, client, message] of callers) {
        const calls = [
          client.listUsers({}),
          client.createUser({ userName: `x-${who}`, role: Role.ADMIN, password: PASSWORD }),
          client.setUserRole({ userName: who === 'key' ? 'vera' : who, role: Role.ADMIN }),
          client.listApiKeys({}),
          client.createApiKey({ userName: 'vera' }),
          client.revokeApiKey({ keyId: 'anything' }),
        ];
        for (const call of calls) {
          const refused = await expectCallError(call);
          expect([who, refused.code]).toEqual([who, status.PERMISSION_DENIED]);
          expect(refused.message).toMatch(message);
        }
      }
      // Nothing they tried happened.
      const users = await store.listUsers();
      expect(users.find((u) => u.name.startsWith('x-'))).toBeUndefined();
      expect(users.find((u) => u.name === 'vera')?.role).toBe('viewer');
      expect(users.find((u) => u.name === 'otto')?.role).toBe('operator');
      const noCaller = await expectCallError(
        serviceClient(AdminService, binding, server).listUsers({}),
      );
      expect(noCaller.code).toBe(status.UNAUTHENTICATED);
    },
  );
});

describe('revocation ends open streams', () => {
  it("a revoked key's open trainer stream ends UNAUTHENTICATED within 1 s; another key's goes on", async () => {
    const doomed = await store.createKey('vera', 'doomed');
    const kept = await store.createKey('vera', 'kept');
    const victim = await streamingTrainer(doomed.secret);
    const healthy = new HealthySession(telemetryClient(server.grpcAddress, kept.secret), 'kept');
    await healthy.start();
    await healthy.stillAcked();
    const started = Date.now();
    await adminAs('ada', 'gRPC-Web').revokeApiKey({ keyId: doomed.id });
    const ended = await victim.stream.waitForStatus(1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ended.code).toBe(status.UNAUTHENTICATED);
    expect(ended.details).toBe(
      `API key ${doomed.id} was revoked; this stream is closed (ask an admin for a new key)`,
    );
    await healthy.stillAcked();
    healthy.end();
    victim.telemetry.close();
  });

  it('the TypeScript SDK streaming with a key revoked mid-run stops for good, saying the key was revoked', async () => {
    const doomed = await store.createKey('vera', 'sdk-doomed');
    const errors: SessionError[] = [];
    const session = await TrainingSession.connect({
      address: server.grpcAddress,
      apiKey: doomed.secret,
      config: { totalEpochs: 1, batchesPerEpoch: 1000, batchSize: 1 },
      systemMetrics: false,
      onError: (error) => errors.push(error),
    });
    session.logBatch({ epoch: 0, batchIdx: 0, loss: 1 });
    expect(await session.flush(5000)).toBe(true);
    const started = Date.now();
    await adminAs('ada', 'native gRPC').revokeApiKey({ keyId: doomed.id });
    const terminated = await waitFor(() => errors.find((error) => error.kind === 'terminated'), {
      timeoutMs: 1000,
      what: 'the SDK told its key was revoked',
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(terminated).toMatchObject({ reason: 'not-authorized' });
    expect(terminated.message).toMatch(/API key \w+ was revoked/);
    // The secret is in no error the SDK reported.
    expect(JSON.stringify(errors)).not.toContain(doomed.secret);
    await session.close({ flushTimeoutMs: 0 });
  });

  it('a key revoked outside this server (the admin CLI writes the store) ends its stream within 1 s', async () => {
    const doomed = await store.createKey('vera', 'cli-doomed');
    const kept = await store.createKey('vera', 'cli-kept');
    const victim = await streamingTrainer(doomed.secret);
    const healthy = new HealthySession(
      telemetryClient(server.grpcAddress, kept.secret),
      'cli-kept',
    );
    await healthy.start();
    await healthy.stillAcked();
    // Straight to the store, as `npm run admin -- revoke-key` does from its own process.
    await store.revokeKey(doomed.id);
    const started = Date.now();
    const ended = await victim.stream.waitForStatus(1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ended.code).toBe(status.UNAUTHENTICATED);
    expect(ended.details).toMatch(/was revoked/);
    await healthy.stillAcked();
    healthy.end();
    victim.telemetry.close();
  });

  it("signing out ends that sign-in's watches on both transports; another viewer keeps watching", async () => {
    const key = await store.createKey('vera', 'watched');
    const trainer = await streamingTrainer(key.secret);
    const leaving = await signIn('vera');
    const staying = await signIn('otto');
    const watches = [
      grpcDashboard(server.grpcAddress, { bearer: leaving }).watch(trainer.sessionId),
      grpcWebDashboard(server.httpUrl, {
        headers: { cookie: `trainwatch_session=${leaving}` },
      }).watch(trainer.sessionId),
    ];
    const other = grpcDashboard(server.grpcAddress, { bearer: staying }).watch(trainer.sessionId);
    await waitFor(() => watches.every((w) => w.events.length > 0) && other.events.length > 0, {
      what: 'snapshots',
    });
    const started = Date.now();
    await serviceClient(AuthService, 'native gRPC', server, {
      authorization: `Bearer ${leaving}`,
    }).signOut({});
    for (const watch of watches) {
      await waitFor(() => watch.ended, { timeoutMs: 1000, what: 'watch ended' });
      expect(watch.error?.code).toBe(status.UNAUTHENTICATED);
      expect(watch.error?.message).toBe(
        'your sign-in session ended (signed out or expired); sign in again',
      );
    }
    expect(Date.now() - started).toBeLessThan(1000);
    // The other viewer's watch still gets what the trainer sends.
    const before = other.events.length;
    trainer.stream.batch(2n, 0, 1);
    await waitFor(() => other.events.length > before, { what: 'event after sign-out' });
    expect(other.ended).toBe(false);
    other.cancel();
    trainer.stream.end();
  });
});
