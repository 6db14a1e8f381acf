import { TrainingStatus } from '@trainwatch/proto';
import { startPostgres, type TestPostgres } from '@trainwatch/testing';
import { Client } from 'pg';
import {
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';

const FLUSH_INTERVAL_MS = 200;
/** How long another connection holds the sessions table while a commit waits for it. */
const LOCK_HELD_MS = 600;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * STORE_FLUSH_INTERVAL_MS is the longest a message waits for its commit to
 * start: one that arrives while a (slow) commit runs is committed as soon as
 * that commit ends if it has waited an interval by then, not an interval
 * after it. PostgreSQL, because a commit there can be held up by a lock
 * without blocking the event loop.
 */
describe('group commit schedule (PostgreSQL)', () => {
  let postgres: TestPostgres;
  let server: TestServer;
  let url: string;
  beforeAll(async () => {
    postgres = await startPostgres();
    url = await postgres.createDatabase();
    server = await startTestServer({
      STORE_ENGINE: 'postgres',
      DATABASE_URL: url,
      STORE_FLUSH_INTERVAL_MS: String(FLUSH_INTERVAL_MS),
    });
  }, 60_000);
  afterAll(async () => {
    await server?.shutdown();
    await postgres?.destroy();
  });

  it('a message that arrives during a slow commit is acknowledged right after it, not an interval later', async () => {
    const telemetry = telemetryClient(server.grpcAddress);
    await register(telemetry, { sessionId: 'slow-commit' });
    const stream = new TrainerStreamClient(telemetry, 'slow-commit');
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    await stream.waitForAck(1n);

    const blocker = new Client({ connectionString: url });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table sessions in exclusive mode');
    const lockedAt = performance.now();
    // Committed about FLUSH_INTERVAL_MS from now: that commit waits for the lock.
    stream.batch(2n, 0, 0);
    await sleep(FLUSH_INTERVAL_MS + 100);
    // Arrives while that commit waits.
    const lateSentAt = performance.now();
    stream.batch(3n, 0, 1);
    await sleep(Math.max(0, LOCK_HELD_MS - (performance.now() - lockedAt)));
    await blocker.query('commit');
    const releasedAt = performance.now();
    await blocker.end();

    await stream.waitForAck(2n);
    const lateAck = await stream.waitForAck(3n);
    const afterRelease = performance.now() - releasedAt;
    expect(lateAck.success).toBe(true);
    // Message 3 had waited more than an interval when the lock went: its commit follows at once
    // (before: it waited a whole interval more).
    expect(releasedAt - lateSentAt).toBeGreaterThan(FLUSH_INTERVAL_MS);
    expect(afterRelease).toBeLessThan(FLUSH_INTERVAL_MS * 0.75);
    stream.end();
    telemetry.close();
  });
});
