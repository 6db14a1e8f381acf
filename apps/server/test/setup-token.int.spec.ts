import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import { status } from '@grpc/grpc-js';
import { AuthService, Role } from '@trainwatch/proto';
import { expectCallError, startTestServer, type TestServer } from './harness';
import { STORE_ENGINES, type TestStore } from './store-engines';

const PASSWORD = 'correct horse battery';

/** Starts a server on `store` with AUTH=required and returns it with the setup token it printed. */
async function startPrintingToken(
  store: TestStore,
): Promise<{ server: TestServer; token: string }> {
  const printed: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    const server = await startTestServer({ ...store.env, AUTH: 'required' });
    const token = /One-time setup token[^:]*: (\S+)/.exec(printed.join(''))?.[1];
    if (token === undefined) throw new Error(`no setup token printed: ${printed.join('')}`);
    return { server, token };
  } finally {
    spy.mockRestore();
  }
}

function authClient(server: TestServer) {
  return createClient(
    AuthService,
    createGrpcWebTransport({ baseUrl: server.httpUrl, httpVersion: '1.1' }),
  );
}

/**
 * Replicas behind Envoy share one store, and "Set up" on the sign-in page
 * may reach a replica other than the one whose log showed the token.
 */
describe.each(STORE_ENGINES)('first-admin setup token on %s', (_name, makeFixture) => {
  const fixture = makeFixture();
  const servers: TestServer[] = [];
  let store: TestStore;

  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  beforeEach(async () => {
    store = await fixture.newStore();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.shutdown()));
    store.remove();
  });

  it('a token printed by one server is accepted by another on the same store, once', async () => {
    const first = await startPrintingToken(store);
    servers.push(first.server);
    // SQLite belongs to one process at a time: the second server starts after the first stopped.
    // PostgreSQL is shared by running replicas: both are up together.
    if (fixture.name === 'SQLite') await servers.pop()?.shutdown();
    const second = await startPrintingToken(store);
    servers.push(second.server);
    expect(second.token).not.toBe(first.token);

    const auth = authClient(second.server);
    const wrong = await expectCallError(
      auth.setUpFirstAdmin({ setupToken: 'twsetup_nope', userName: 'root', password: PASSWORD }),
    );
    expect(wrong.code).toBe(status.UNAUTHENTICATED);
    expect(wrong.message).toMatch(/setup token is wrong/);

    const made = await auth.setUpFirstAdmin({
      setupToken: first.token,
      userName: 'root',
      password: PASSWORD,
    });
    expect(made.identity).toMatchObject({ userName: 'root', role: Role.ADMIN });

    // Once an admin exists, no token printed by any server makes another one.
    for (const server of servers) {
      const again = await expectCallError(
        authClient(server).setUpFirstAdmin({
          setupToken: second.token,
          userName: 'root2',
          password: PASSWORD,
        }),
      );
      expect(again.code).toBe(status.FAILED_PRECONDITION);
    }
    const db = await store.open();
    try {
      expect(await db.db.selectFrom('setup_tokens').selectAll().execute()).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
