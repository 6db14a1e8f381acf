import {
  grpcDashboard,
  grpcWebDashboard,
  HealthySession,
  startTestServer,
  telemetryClient,
  type TestServer,
} from './harness';
import type { StoreEngineFixture, TestStore } from './store-engines';

/** Clients of one server start, and the healthy session streaming beside the test's own. */
export interface StoredServerClients {
  grpc: ReturnType<typeof grpcDashboard>;
  web: ReturnType<typeof grpcWebDashboard>;
  telemetry: ReturnType<typeof telemetryClient>;
  healthy: HealthySession;
}

/**
 * The hooks of a suite run per store engine (inside describe.each over
 * STORE_ENGINES): a fresh store per test, `start()` a server on it (again
 * after `stop()`, to test a restart) with both dashboard bindings and a
 * healthy second session, everything closed after each test.
 */
export function storedServerSuite(fixture: StoreEngineFixture): {
  start(): Promise<StoredServerClients>;
  stop(): Promise<void>;
  /** What to close after the test (its own clients and streams). */
  closers: (() => void)[];
} {
  let store: TestStore;
  let server: TestServer | undefined;
  const closers: (() => void)[] = [];
  let starts = 0;

  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  beforeEach(async () => {
    store = await fixture.newStore();
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await server?.shutdown();
    server = undefined;
    store.remove();
  });

  return {
    async start() {
      server = await startTestServer({ ...store.env, HEARTBEAT_INTERVAL_MS: '200' });
      const grpc = grpcDashboard(server.grpcAddress);
      const web = grpcWebDashboard(server.httpUrl);
      const telemetry = telemetryClient(server.grpcAddress);
      // A new healthy session per start: the stored one would take its sequences as duplicates.
      starts += 1;
      const healthy = new HealthySession(telemetry, `healthy-${starts}`);
      await healthy.start();
      closers.push(
        () => healthy.end(),
        () => grpc.close(),
        () => web.close(),
        () => telemetry.close(),
      );
      return { grpc, web, telemetry, healthy };
    },
    async stop() {
      await server?.shutdown();
      server = undefined;
    },
    closers,
  };
}
