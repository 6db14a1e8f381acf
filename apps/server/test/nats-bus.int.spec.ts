import { randomUUID } from 'node:crypto';
import type { Msg } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
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

describe('NatsBus latest-wins values on the wire', () => {
  let server: TestNats;
  beforeAll(async () => {
    server = await startNats();
  });
  afterAll(async () => {
    await server.destroy();
  });

  it('sends them to NATS only while another replica listens, and to a replica started later within one refresh', async () => {
    const refreshMs = 200;
    const options = { url: server.url, limits: CONTRACT_LIMITS, interestRefreshMs: refreshMs };
    const a = await NatsBus.connect({ ...options, replicaId: 'wire-a' });
    const b = await NatsBus.connect({ ...options, replicaId: 'wire-b' });
    const wire = await connect({ servers: server.url });
    const session = `wire.${randomUUID().slice(0, 8)}`;
    const onWire: string[] = [];
    wire.subscribe('trainwatch.latest.>', {
      callback: (error: Error | null, message: Msg) => {
        if (error === null) onWire.push(Buffer.from(message.data).toString());
      },
    });
    await wire.flush();
    const heardA: string[] = [];
    const heardB: string[] = [];
    try {
      // Only A listens: A's listener hears every frame, none crosses NATS.
      const listeningA = a.listen(session, (payload) =>
        heardA.push(Buffer.from(payload).toString()),
      );
      for (let i = 0; i < 5; i++) a.broadcast(session, Buffer.from(`local ${i}`));
      expect(heardA).toEqual(['local 0', 'local 1', 'local 2', 'local 3', 'local 4']);

      // B follows the session: frames reach it through NATS once A has heard of it.
      const listeningB = b.listen(session, (payload) =>
        heardB.push(Buffer.from(payload).toString()),
      );
      let sent = 0;
      await waitFor(
        () => {
          a.broadcast(session, Buffer.from('frame'));
          sent += 1;
          return heardB.includes('frame');
        },
        { timeoutMs: 2000, intervalMs: 20, what: 'a frame at B' },
      );
      expect(onWire).not.toContain('local 0');
      // A request on A's own connection comes back after anything NATS sent A before it.
      await a.lastPosition(session);
      // A's own listener heard each frame once: directly, not again through NATS.
      expect(heardA.filter((value) => value === 'frame')).toHaveLength(sent);

      // A replica that starts after B announced learns of B within one refresh (a new owner).
      const c = await NatsBus.connect({ ...options, replicaId: 'wire-c' });
      try {
        const startedAt = Date.now();
        await waitFor(() => c.wantsBroadcast(session), {
          timeoutMs: refreshMs * 10,
          intervalMs: 10,
          what: "C knowing B's listener",
        });
        expect(Date.now() - startedAt).toBeLessThan(refreshMs * 3);
      } finally {
        await c.close();
      }

      // B stops: A stops sending within the interest's lifetime (three refreshes).
      listeningB.close();
      await waitFor(
        () => {
          const before = onWire.length;
          a.broadcast(session, Buffer.from('after B left'));
          return Promise.resolve(wire.flush()).then(() => onWire.length === before);
        },
        {
          timeoutMs: refreshMs * 10,
          intervalMs: refreshMs,
          what: 'A sending nothing after B left',
        },
      );
      expect(heardA).toContain('after B left');
      listeningA.close();
    } finally {
      await wire.close();
      await a.close();
      await b.close();
    }
  }, 30_000);
});
