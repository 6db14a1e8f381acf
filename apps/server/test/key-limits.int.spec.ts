import { status } from '@grpc/grpc-js';
import { waitFor } from '@trainwatch/testing';
import { AUTH_STORE } from '../src/auth/auth-tokens';
import type { AuthStore } from '../src/auth/auth-store';
import {
  TrainerStreamClient,
  register,
  startTestServer,
  telemetryClient,
  type TestServer,
} from './harness';

/** /metrics as text. */
async function metricsText(server: TestServer): Promise<string> {
  return (await fetch(`${server.httpUrl}/metrics`)).text();
}

describe('per-key limits (AUTH=required)', () => {
  let server: TestServer;
  let store: AuthStore;

  beforeEach(async () => {
    server = await startTestServer({
      AUTH: 'required',
      KEY_STREAM_OPENS_PER_MINUTE: '2',
      KEY_MESSAGES_PER_SECOND: '20',
      KEY_BYTES_PER_SECOND: '0',
    });
    store = server.app.get<symbol, AuthStore>(AUTH_STORE);
    await store.createUser('tina', 'viewer', '');
  });
  afterEach(() => server.shutdown());

  async function keyed() {
    const key = await store.createKey('tina', '');
    return { ...key, telemetry: telemetryClient(server.grpcAddress, key.secret) };
  }

  it('a key opening streams too often gets RESOURCE_EXHAUSTED with a retry hint; another key is unaffected', async () => {
    const busy = await keyed();
    const calm = await keyed();
    const { sessionId } = await register(busy.telemetry);
    for (let i = 0; i < 2; i += 1) {
      const stream = new TrainerStreamClient(busy.telemetry, sessionId);
      stream.batch(BigInt(i + 1), 0, i);
      await stream.waitForAck(BigInt(i + 1));
      stream.call.cancel();
    }
    const third = new TrainerStreamClient(busy.telemetry, sessionId);
    third.batch(3n, 0, 2);
    const refused = await third.waitForStatus();
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(
      new RegExp(
        `^API key ${busy.id} is over its KEY_STREAM_OPENS_PER_MINUTE=2 limit; retry in \\d+\\.\\d s$`,
      ),
    );
    const other = await register(calm.telemetry);
    const healthy = new TrainerStreamClient(calm.telemetry, other.sessionId);
    healthy.batch(1n, 0, 0);
    await healthy.waitForAck(1n);
    healthy.end();
    const text = await metricsText(server);
    expect(text).toContain(`trainwatch_key_stream_opens_limited_total{key_id="${busy.id}"} 1`);
    expect(text).not.toContain(busy.secret);
  });

  it('a key sending more messages a second than allowed has its stream ended with RESOURCE_EXHAUSTED', async () => {
    const fast = await keyed();
    const slow = await keyed();
    const a = await register(fast.telemetry);
    const b = await register(slow.telemetry);
    const healthy = new TrainerStreamClient(slow.telemetry, b.sessionId);
    healthy.batch(1n, 0, 0);
    await healthy.waitForAck(1n);
    const flood = new TrainerStreamClient(fast.telemetry, a.sessionId);
    for (let i = 1; i <= 40; i += 1) flood.batch(BigInt(i), 0, i);
    const ended = await flood.waitForStatus();
    expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(ended.details).toMatch(/KEY_MESSAGES_PER_SECOND=20 limit; retry in/);
    // The other key's stream keeps getting acks.
    healthy.batch(2n, 0, 1);
    await healthy.waitForAck(2n);
    healthy.end();
    await waitFor(
      async () =>
        (await metricsText(server)).includes(
          `trainwatch_key_messages_limited_total{key_id="${fast.id}"} 1`,
        ),
      {
        what: 'messages limit counted',
      },
    );
  });
});

describe('per-key byte limit', () => {
  it('a key sending more bytes a second than allowed has its stream ended, counted by key id', async () => {
    const server = await startTestServer({
      AUTH: 'required',
      KEY_MESSAGES_PER_SECOND: '0',
      KEY_BYTES_PER_SECOND: '2048',
      // The byte burst is one second's worth or one largest message, whichever is more.
      MAX_MESSAGE_BYTES: '1024',
    });
    try {
      const store = server.app.get<symbol, AuthStore>(AUTH_STORE);
      await store.createUser('tina', 'viewer', '');
      const key = await store.createKey('tina', '');
      const telemetry = telemetryClient(server.grpcAddress, key.secret);
      const { sessionId } = await register(telemetry);
      const flood = new TrainerStreamClient(telemetry, sessionId);
      for (let i = 1; i <= 200; i += 1) flood.batch(BigInt(i), 0, i, { batchSize: 32 });
      const ended = await flood.waitForStatus();
      expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(ended.details).toMatch(/KEY_BYTES_PER_SECOND=2048 limit; retry in/);
      expect(await metricsText(server)).toContain(
        `trainwatch_key_bytes_limited_total{key_id="${key.id}"} 1`,
      );
      telemetry.close();
    } finally {
      await server.shutdown();
    }
  });
});
