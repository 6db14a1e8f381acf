import { randomUUID } from 'node:crypto';
import { waitFor } from '@trainwatch/testing';
import {
  BusRequestError,
  BusTimeoutError,
  NoOwnerError,
  type BusEvent,
  type ReplicaBus,
  type ReplicaBusLimits,
} from '../src/replicas/replica-bus';

/** The limits every engine runs the contract with: small, so the bounds are reached. */
export const CONTRACT_LIMITS: ReplicaBusLimits = {
  maxEventsPerSession: 20,
  leaseTtlMs: 1_000,
  dedupeWindowMs: 60_000,
};

/** Two replicas on one shared bus (one engine), made once per suite. */
export interface BusCluster {
  readonly a: ReplicaBus;
  readonly b: ReplicaBus;
  close(): Promise<void>;
}

const text = (payload: Uint8Array): string => Buffer.from(payload).toString('utf8');
const bytes = (value: string): Uint8Array => Buffer.from(value, 'utf8');

/** A session id with the characters NATS subjects reserve, so encoding is under test too. */
const newSession = (): string => `run.${randomUUID().slice(0, 8)}:v1`;

/**
 * The behaviour every ReplicaBus engine must have. Each test uses sessions
 * of its own, so the engines' shared state never leaks between tests.
 */
export function replicaBusContract(engine: string, makeCluster: () => Promise<BusCluster>): void {
  describe(`ReplicaBus contract: ${engine}`, () => {
    let cluster: BusCluster;
    beforeAll(async () => {
      cluster = await makeCluster();
    });
    afterAll(async () => {
      await cluster.close();
    });

    const collect = (bus: ReplicaBus, session: string, after = 0n) => {
      const seen: BusEvent[] = [];
      const following = bus.follow(session, after, (event) => seen.push(event));
      return { seen, following, texts: () => seen.map((event) => text(event.payload)) };
    };

    it('delivers a session’s events in order to a follower on another replica, old then live', async () => {
      const session = newSession();
      for (let i = 1; i <= 3; i++)
        await cluster.a.append(session, bytes(`e${i}`), `${session}:${i}`);
      const follower = collect(cluster.b, session);
      await waitFor(() => follower.seen.length === 3, { what: 'the three stored events' });
      for (let i = 4; i <= 8; i++)
        await cluster.a.append(session, bytes(`e${i}`), `${session}:${i}`);
      await waitFor(() => follower.seen.length === 8, { what: 'the live events' });
      follower.following.close();
      expect(follower.texts()).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8']);
      const positions = follower.seen.map((event) => event.position);
      expect([...positions].sort((x, y) => (x < y ? -1 : 1))).toEqual(positions);
      expect(await cluster.b.lastPosition(session)).toBe(positions[positions.length - 1]);
      const last = await cluster.b.lastEvent(session);
      expect(last?.position).toBe(positions[positions.length - 1]);
      expect(text(last?.payload ?? new Uint8Array())).toBe('e8');
    });

    it('starts a follower after a position it already has', async () => {
      const session = newSession();
      const positions: bigint[] = [];
      for (let i = 1; i <= 5; i++) {
        positions.push(
          (await cluster.a.append(session, bytes(`e${i}`), `${session}:${i}`)).position,
        );
      }
      const follower = collect(cluster.b, session, positions[2]);
      await waitFor(() => follower.seen.length === 2, { what: 'events after the third' });
      await cluster.a.append(session, bytes('e6'), `${session}:6`);
      await waitFor(() => follower.seen.length === 3, { what: 'the next live event' });
      follower.following.close();
      expect(follower.texts()).toEqual(['e4', 'e5', 'e6']);
    });

    it('applies an append with a dedupe id it has seen once (a replay on another replica)', async () => {
      const session = newSession();
      const follower = collect(cluster.b, session);
      const first = await cluster.a.append(session, bytes('once'), `${session}:1`);
      const again = await cluster.b.append(session, bytes('once'), `${session}:1`);
      await cluster.a.append(session, bytes('next'), `${session}:2`);
      await waitFor(() => follower.seen.length >= 2, { what: 'two events' });
      follower.following.close();
      expect(first.duplicate).toBe(false);
      expect(again).toEqual({ position: first.position, duplicate: true });
      expect(follower.texts()).toEqual(['once', 'next']);
    });

    it('keeps sessions apart', async () => {
      const one = newSession();
      const two = newSession();
      const follower = collect(cluster.b, one);
      await cluster.a.append(two, bytes('other'), `${two}:1`);
      await cluster.a.append(one, bytes('mine'), `${one}:1`);
      await waitFor(() => follower.seen.length === 1, { what: 'the session’s own event' });
      follower.following.close();
      expect(follower.texts()).toEqual(['mine']);
      expect(await cluster.a.lastPosition(newSession())).toBe(0n);
      expect(await cluster.a.lastEvent(newSession())).toBeUndefined();
    });

    it(`keeps at most ${CONTRACT_LIMITS.maxEventsPerSession} old events per session`, async () => {
      const session = newSession();
      const total = CONTRACT_LIMITS.maxEventsPerSession + 7;
      for (let i = 1; i <= total; i++)
        await cluster.a.append(session, bytes(`e${i}`), `${session}:${i}`);
      const follower = collect(cluster.b, session);
      await waitFor(() => follower.seen.length === CONTRACT_LIMITS.maxEventsPerSession, {
        what: 'the kept events',
      });
      follower.following.close();
      expect(follower.texts()[0]).toBe('e8');
      expect(follower.texts().at(-1)).toBe(`e${total}`);
    });

    it('stops delivering once the follower is closed', async () => {
      const session = newSession();
      const follower = collect(cluster.b, session);
      await cluster.a.append(session, bytes('before'), `${session}:1`);
      await waitFor(() => follower.seen.length === 1, { what: 'the first event' });
      follower.following.close();
      await cluster.a.append(session, bytes('after'), `${session}:2`);
      // A second follower sees the later event, so the first had every chance to.
      const witness = collect(cluster.b, session);
      await waitFor(() => witness.seen.length === 2, { what: 'both events for a new follower' });
      witness.following.close();
      expect(follower.texts()).toEqual(['before']);
    });

    it('broadcasts a latest value to listeners on every replica without keeping it', async () => {
      const session = newSession();
      const heardA: string[] = [];
      const heardB: string[] = [];
      // Each listener is in place once a probe broadcast reaches it.
      const listenUntilHeard = async (bus: ReplicaBus, heard: string[]) => {
        const listening = bus.listen(session, (payload) => heard.push(text(payload)));
        await waitFor(
          () => {
            cluster.a.broadcast(session, bytes('probe'));
            return heard.includes('probe');
          },
          { intervalMs: 50, what: 'a listener in place' },
        );
        return listening;
      };
      const listeningA = await listenUntilHeard(cluster.a, heardA);
      // Sent, and seen through the server by A, before B listens: B must never get it.
      cluster.a.broadcast(session, bytes('before B listens'));
      await waitFor(() => heardA.includes('before B listens'), { what: 'the value at A' });
      const listeningB = await listenUntilHeard(cluster.b, heardB);
      const other = cluster.b.listen(newSession(), () => heardB.push('wrong session'));
      cluster.a.broadcast(session, bytes('frame 1'));
      await waitFor(() => heardB.includes('frame 1') && heardA.includes('frame 1'), {
        what: 'frame 1 on both replicas',
      });
      listeningB.close();
      listeningA.close();
      other.close();
      expect(heardB).not.toContain('before B listens');
      expect(heardB).not.toContain('wrong session');
    });

    it('wants a broadcast only while a listener is in place, on this replica or another', async () => {
      const session = newSession();
      expect(cluster.a.wantsBroadcast(session)).toBe(false);
      const heardA: string[] = [];
      const listeningA = cluster.a.listen(session, (payload) => heardA.push(text(payload)));
      // A listener on the broadcasting replica is known at once and hears the value.
      expect(cluster.a.wantsBroadcast(session)).toBe(true);
      cluster.a.broadcast(session, bytes('local'));
      await waitFor(() => heardA.includes('local'), { what: 'the value at A' });
      listeningA.close();

      const other = newSession();
      const heardB: string[] = [];
      const listeningB = cluster.b.listen(other, (payload) => heardB.push(text(payload)));
      // Another replica's listener is known within a round trip of its listen.
      await waitFor(() => cluster.a.wantsBroadcast(other), {
        timeoutMs: 2000,
        what: "A knowing B's listener",
      });
      cluster.a.broadcast(other, bytes('to B'));
      await waitFor(() => heardB.includes('to B'), { what: 'the value at B' });
      listeningB.close();
    });

    it('gives a session to one replica at a time; a takeover makes the old owner’s renew fail', async () => {
      const session = newSession();
      const leaseA = await cluster.a.claim(session);
      expect(leaseA).toBeDefined();
      expect(await cluster.b.claim(session)).toBeUndefined();
      expect(await cluster.b.owner(session)).toBe(cluster.a.replicaId);
      expect(await leaseA?.renew()).toBe(true);

      const leaseB = await cluster.b.claim(session, { takeOver: true });
      expect(leaseB).toBeDefined();
      expect(await cluster.a.owner(session)).toBe(cluster.b.replicaId);
      expect(await leaseA?.renew()).toBe(false);
      // The loser's release must not free the winner's lease.
      await leaseA?.release();
      expect(await cluster.a.owner(session)).toBe(cluster.b.replicaId);
      await leaseB?.release();
      expect(await cluster.a.owner(session)).toBeUndefined();
      expect(await cluster.a.claim(session)).toBeDefined();
    });

    it('lets another replica claim a session whose owner stopped renewing', async () => {
      const session = newSession();
      expect(await cluster.a.claim(session)).toBeDefined();
      expect(await cluster.b.claim(session)).toBeUndefined();
      const leaseB = await waitFor(() => cluster.b.claim(session), {
        timeoutMs: CONTRACT_LIMITS.leaseTtlMs * 5,
        intervalMs: 100,
        what: 'the dead lease to expire',
      });
      expect(await cluster.a.owner(session)).toBe(cluster.b.replicaId);
      await leaseB.release();
    });

    it('routes a request to the replica that serves the session and brings its answer back', async () => {
      const session = newSession();
      await expect(
        cluster.b.request('command', session, bytes('pause'), 2_000),
      ).rejects.toBeInstanceOf(NoOwnerError);
      const stop = cluster.a.serve('command', session, (body) =>
        Promise.resolve(bytes(`done: ${text(body)} by ${cluster.a.replicaId}`)),
      );
      // A new subscription takes a moment to reach a NATS server: ask until it answers.
      const answer = await waitFor(
        () => cluster.b.request('command', session, bytes('pause'), 2_000).catch(() => undefined),
        { what: 'the owner answering' },
      );
      expect(text(answer)).toBe(`done: pause by ${cluster.a.replicaId}`);
      // Another kind for the same session is not served by that handler.
      await expect(cluster.b.request('snapshot', session, bytes(''), 2_000)).rejects.toBeInstanceOf(
        NoOwnerError,
      );
      stop();
      await waitFor(
        () =>
          cluster.b.request('command', session, bytes('pause'), 2_000).then(
            () => false,
            (error: unknown) => error instanceof NoOwnerError,
          ),
        { what: 'NoOwnerError once the owner stopped serving' },
      );
    });

    it('brings a handler’s error and a silent owner back as errors', async () => {
      const failing = newSession();
      const silent = newSession();
      const stopFailing = cluster.a.serve('command', failing, () =>
        Promise.reject(Object.assign(new Error('trainer is not connected'), { code: 9 })),
      );
      const stopSilent = cluster.a.serve(
        'snapshot',
        silent,
        () => new Promise<Uint8Array>(() => undefined),
      );
      // A new subscription takes a moment to reach a NATS server: ask until it answers.
      const failure = await waitFor(
        () =>
          cluster.b
            .request('command', failing, bytes('stop'), 2_000)
            .catch((e: unknown) => (e instanceof NoOwnerError ? undefined : e)),
        { what: 'the failing handler answering' },
      );
      expect(failure).toBeInstanceOf(BusRequestError);
      expect((failure as BusRequestError).message).toBe('trainer is not connected');
      expect((failure as BusRequestError).code).toBe(9);
      const started = Date.now();
      const timeout = await cluster.b
        .request('snapshot', silent, bytes(''), 300)
        .catch((e: unknown) => e);
      expect(timeout).toBeInstanceOf(BusTimeoutError);
      expect(Date.now() - started).toBeLessThan(2_000);
      stopFailing();
      stopSilent();
    });
  });
}
