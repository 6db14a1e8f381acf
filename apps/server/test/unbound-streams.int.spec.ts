import { status } from '@grpc/grpc-js';
import { waitFor } from '@trainwatch/testing';
import {
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';

const BIND_TIMEOUT_MS = 600;
const MAX_SESSIONS = 8;

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const match = new RegExp(`^trainwatch_${name} (\\d+)$`, 'm').exec(text);
  if (match === null) throw new Error(`/metrics has no trainwatch_${name}`);
  return Number(match[1]);
}

/** Streams that never name a session are closed after STREAM_BIND_TIMEOUT_MS, and bounded in number. */
describe('trainer streams that bind no session, over real sockets', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;
  let healthy: TrainerStreamClient;
  let sequence = 0n;
  let batchIdx = 0;

  /** The healthy trainer sends one batch and waits for its ack. */
  async function healthyBatch(): Promise<void> {
    sequence += 1n;
    healthy.batch(sequence, 0, batchIdx++);
    await healthy.waitForAck(sequence);
  }

  beforeAll(async () => {
    server = await startTestServer({
      STREAM_BIND_TIMEOUT_MS: String(BIND_TIMEOUT_MS),
      HEARTBEAT_INTERVAL_MS: '100',
      MAX_SESSIONS: String(MAX_SESSIONS),
    });
    telemetry = telemetryClient(server.grpcAddress);
    await register(telemetry, { sessionId: 'healthy' });
    healthy = new TrainerStreamClient(telemetry, 'healthy');
    await healthyBatch();
  });

  afterAll(async () => {
    healthy.end();
    telemetry.close();
    await server.shutdown();
  });

  afterEach(async () => {
    // Every test leaves the healthy trainer streaming, never told anything.
    await healthyBatch();
    expect(healthy.status).toBeUndefined();
    expect(healthy.errors()).toEqual([]);
    expect(healthy.acks().every((ack) => ack.success)).toBe(true);
  });

  it('a stream that sends nothing is closed with DEADLINE_EXCEEDED after the bound', async () => {
    const before = await metric(server, 'stream_bind_timeouts_total');
    const opened = Date.now();
    const silent = Array.from(
      { length: 5 },
      () => new TrainerStreamClient(telemetry, 'never-says'),
    );
    await waitFor(async () => (await metric(server, 'streams_unbound')) === 5, {
      what: '5 unbound streams',
    });
    // The healthy session keeps streaming while they wait.
    while (silent.some((stream) => stream.status === undefined)) {
      await healthyBatch();
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (Date.now() - opened > BIND_TIMEOUT_MS * 10) throw new Error('silent streams still open');
    }
    expect(Date.now() - opened).toBeGreaterThanOrEqual(BIND_TIMEOUT_MS - 50);
    for (const stream of silent) {
      expect(stream.status?.code).toBe(status.DEADLINE_EXCEEDED);
      expect(stream.status?.details).toMatch(/no first message within 600 ms/);
      expect(stream.status?.details).toMatch(/STREAM_BIND_TIMEOUT_MS/);
    }
    expect(await metric(server, 'stream_bind_timeouts_total')).toBe(before + 5);
    expect(await metric(server, 'streams_unbound')).toBe(0);
  });

  it('a stream whose first message comes within the bound stays open past it', async () => {
    await register(telemetry, { sessionId: 'slow-starter' });
    const slow = new TrainerStreamClient(telemetry, 'slow-starter');
    await new Promise((resolve) => setTimeout(resolve, BIND_TIMEOUT_MS / 2));
    slow.send(0n, { case: 'heartbeat', value: { sequenceNumber: 1n } });
    await new Promise((resolve) => setTimeout(resolve, BIND_TIMEOUT_MS));
    slow.batch(1n, 0, 0);
    await slow.waitForAck(1n);
    expect(slow.status).toBeUndefined();
    slow.end();
    expect((await slow.waitForStatus()).code).toBe(status.OK);
  });

  it('past MAX_SESSIONS streams waiting to bind, a new one is refused with RESOURCE_EXHAUSTED', async () => {
    const before = await metric(server, 'streams_unbound_refused_total');
    const waiting = Array.from(
      { length: MAX_SESSIONS },
      () => new TrainerStreamClient(telemetry, 'never-says'),
    );
    await waitFor(async () => (await metric(server, 'streams_unbound')) === MAX_SESSIONS, {
      what: `${MAX_SESSIONS} unbound streams`,
    });
    const refused = new TrainerStreamClient(telemetry, 'never-says');
    const result = await refused.waitForStatus(BIND_TIMEOUT_MS / 2);
    expect(result.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(result.details).toMatch(/8 trainer streams are already open without a first message/);
    expect(result.details).toMatch(/MAX_SESSIONS/);
    expect(await metric(server, 'streams_unbound_refused_total')).toBe(before + 1);
    await healthyBatch();
    // Once they time out, room is back: a new trainer binds.
    await waitFor(() => waiting.every((stream) => stream.status !== undefined), {
      what: 'waiting streams timed out',
    });
    await register(telemetry, { sessionId: 'after-the-flood' });
    const late = new TrainerStreamClient(telemetry, 'after-the-flood');
    late.batch(1n, 0, 0);
    await late.waitForAck(1n);
    late.end();
  });
});
