import { randomUUID } from 'node:crypto';
import { startNats, waitFor, type TestNats } from '@trainwatch/testing';
import { NatsBus } from '../src/replicas/nats-bus';
import type { BusEvent } from '../src/replicas/replica-bus';
import { CONTRACT_LIMITS, replicaBusContract } from './replica-bus-contract';

let nats: TestNats | undefined;

replicaBusContract('NATS', async () => {
  nats = await startNats();
  const a = await NatsBus.connect({
    url: nats.url,
    limits: CONTRACT_LIMITS,
    replicaId: 'replica-a',
  });
  const b = await NatsBus.connect({
    url: nats.url,
    limits: CONTRACT_LIMITS,
    replicaId: 'replica-b',
  });
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
    },
  };
});

describe('NatsBus when the NATS server restarts', () => {
  let server: TestNats;
  beforeAll(async () => {
    server = await startNats();
  });
  afterAll(async () => {
    await server.destroy();
    await nats?.destroy();
  });

  it('reconnects by itself: a follower misses nothing appended before or after the restart', async () => {
    if (!server.ownServer) return; // an outside NATS_URL cannot be restarted by a test
    const a = await NatsBus.connect({ url: server.url, limits: CONTRACT_LIMITS });
    const b = await NatsBus.connect({ url: server.url, limits: CONTRACT_LIMITS });
    const session = `restart-${randomUUID()}`;
    const seen: BusEvent[] = [];
    const following = b.follow(session, 0n, (event) => seen.push(event));
    for (let i = 1; i <= 3; i++) await a.append(session, Buffer.from(`e${i}`), `${session}:${i}`);
    await waitFor(() => seen.length === 3, { what: 'events before the restart' });

    await server.stop();
    // Away for a while, as a restart on a busy machine would be: followers must start again by themselves.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await server.start();

    // Appends are retried by the caller until the bus holds them (as the owner's writer does).
    for (let i = 4; i <= 6; i++) {
      await waitFor(
        () =>
          a.append(session, Buffer.from(`e${i}`), `${session}:${i}`).then(
            () => true,
            () => false,
          ),
        { timeoutMs: 20_000, intervalMs: 200, what: `append e${i} after the restart` },
      );
    }
    await waitFor(() => seen.length === 6, { timeoutMs: 20_000, what: 'events after the restart' });
    following.close();
    expect(seen.map((event) => Buffer.from(event.payload).toString())).toEqual([
      'e1',
      'e2',
      'e3',
      'e4',
      'e5',
      'e6',
    ]);
    await a.close();
    await b.close();
  }, 60_000);
});
