import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  AlertAction,
  AlertRuleKind,
  type Alert,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import {
  startNats,
  startPostgres,
  startServerProcess,
  waitFor,
  type ServerProcess,
  type TestNats,
  type TestPostgres,
} from '@trainwatch/testing';
import { EVENTS_STREAM } from '../src/replicas/nats-bus';
import { sessionToken } from '../src/replicas/replica-bus';
import { grpcDashboard, type DashboardApi, type WatchHandle } from './harness';
import { seen } from './replica-watch';
import { ResumingTrainer } from './resuming-trainer';

/** Messages per run: ~5 s at 60 msg/s. */
const MESSAGES = 300;
/** Events the bus keeps per session in this file: small enough for a run to outgrow it. */
const BUS_EVENTS_PER_SESSION = 500;

/** A gauge on the replica's /metrics. */
async function metric(replica: ServerProcess, name: string): Promise<number> {
  const text = await (await fetch(`${replica.httpUrl}/metrics`)).text();
  const match = new RegExp(`^trainwatch_${name} (\\S+)$`, 'm').exec(text);
  if (match === null) throw new Error(`${name} is not on ${replica.httpUrl}/metrics`);
  return Number(match[1]);
}

const allSteps = (count: number): number[] => [...Array(count).keys()];

describe('watchers across replicas: resume, one follow per session, edits anywhere', () => {
  let nats: TestNats;
  let postgres: TestPostgres;
  let natsClient: NatsConnection;
  const replicas: ServerProcess[] = [];
  const dashboards: DashboardApi[] = [];
  const trainers: ResumingTrainer[] = [];

  beforeAll(async () => {
    nats = await startNats();
    postgres = await startPostgres();
    const databaseUrl = await postgres.createDatabase();
    // One after another: the first applies the store's migrations.
    for (let i = 0; i < 3; i++) {
      replicas.push(
        await startServerProcess({
          env: {
            NATS_URL: nats.url,
            DATABASE_URL: databaseUrl,
            REPLICA_LEASE_TTL_MS: '2000',
            BUS_EVENTS_PER_SESSION: String(BUS_EVENTS_PER_SESSION),
          },
          startTimeoutMs: 30_000,
        }),
      );
    }
    natsClient = await connect({ servers: nats.url });
  }, 120_000);

  afterAll(async () => {
    for (const trainer of trainers) trainer.stop();
    for (const dashboard of dashboards) dashboard.close();
    await natsClient?.close();
    await Promise.all(replicas.map((replica) => replica.stop()));
    await nats?.destroy();
    await postgres?.destroy();
  }, 60_000);

  const dashboardOn = (replica: ServerProcess): DashboardApi => {
    const dashboard = grpcDashboard(replica.grpcAddress);
    dashboards.push(dashboard);
    return dashboard;
  };

  const startTrainer = async (
    on: () => ServerProcess,
    sessionId: string,
    messages = MESSAGES,
    intervalMs?: number,
  ): Promise<ResumingTrainer> => {
    const trainer = new ResumingTrainer(() => on().grpcAddress, sessionId, messages, intervalMs);
    trainers.push(trainer);
    await trainer.start();
    return trainer;
  };

  /** JetStream consumers reading the session's events, on every replica together. */
  async function consumersOf(sessionId: string): Promise<number> {
    const subject = `trainwatch.events.${sessionToken(sessionId)}`;
    const jsm = await jetstreamManager(natsClient);
    let count = 0;
    for await (const info of jsm.consumers.list(EVENTS_STREAM)) {
      const filters = [info.config.filter_subject, ...(info.config.filter_subjects ?? [])];
      if (filters.includes(subject)) count += 1;
    }
    return count;
  }

  it('kill -9 of the replica a watcher is on: it resumes on another one from its cursor, every step once, no snapshot', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const trainer = await startTrainer(() => c, 'resume-after-kill');
    await waitFor(() => trainer.acked.size >= 20, { what: 'the run under way on C' });
    const onA = dashboardOn(a).watch('resume-after-kill');
    await waitFor(() => seen(onA).steps.length > 60, { what: 'the watcher on A following' });

    await a.kill();
    await waitFor(() => onA.ended || onA.error !== undefined, { what: 'the stream on A broken' });
    // What a client holds: the cursor of the last event it got.
    const cursor = (onA.events.at(-1) as WatchSessionResponse).cursor;
    const before = seen(onA).steps;
    const onB = dashboardOn(b).watch('resume-after-kill', cursor);

    await waitFor(() => trainer.acked.size === MESSAGES, {
      timeoutMs: 30_000,
      what: 'the whole run acknowledged',
    });
    await waitFor(() => seen(onB).steps.at(-1) === MESSAGES - 1, {
      timeoutMs: 15_000,
      what: 'the last batch on the resumed watcher',
    });
    expect(onB.error).toBeUndefined();
    // Taken: a keepalive carrying the cursor comes first, and no snapshot at all.
    const first = onB.events[0] as WatchSessionResponse;
    expect(first.event.case).toBe('keepalive');
    expect(first.cursor).toBe(cursor);
    expect(onB.events.filter((event) => event.event.case === 'snapshot')).toEqual([]);
    expect(seen(onB, cursor).cursorJumps).toEqual([]);
    // Every step once across the two streams, in order.
    expect([...before, ...seen(onB).steps]).toEqual(allSteps(MESSAGES));
    onB.cancel();
    await a.start();
  }, 120_000);

  it('a cursor older than the bus keeps: the resumed watch starts from a snapshot', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    // Twice what the bus keeps, fast.
    const messages = BUS_EVENTS_PER_SESSION + 100;
    const trainer = await startTrainer(() => b, 'resume-too-old', messages, 4);
    await waitFor(() => trainer.acked.size >= 20, { what: 'the run under way on B' });
    const early = dashboardOn(c).watch('resume-too-old');
    const firstBatch = await waitFor(
      () => early.events.find((event) => event.event.case === 'batch'),
      { what: 'a batch on the early watcher' },
    );
    early.cancel();
    await waitFor(() => trainer.acked.size === messages, {
      timeoutMs: 60_000,
      what: 'the whole run acknowledged',
    });

    const late = dashboardOn(a).watch('resume-too-old', firstBatch.cursor);
    const snapshot = await waitFor(() => late.events[0], { what: 'the first event' });
    // Stated as a single replica states it: a snapshot first, not a keepalive taking the cursor.
    expect(snapshot.event.case).toBe('snapshot');
    expect(snapshot.cursor).toBeGreaterThan(firstBatch.cursor + BigInt(BUS_EVENTS_PER_SESSION));
    await waitFor(() => seen(late).steps.at(-1) === messages - 1, {
      what: 'the whole run in the snapshot',
    });
    expect(late.error).toBeUndefined();
    late.cancel();
  }, 120_000);

  it('three watchers of one session on B share one bus follow, which stops with the last of them', async () => {
    const [a, b] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const before = await metric(b, 'replica_session_follows');
    const trainer = await startTrainer(() => a, 'one-follow');
    await waitFor(() => trainer.acked.size >= 20, { what: 'the run under way on A' });

    const dashboard = dashboardOn(b);
    const watches = [0, 1, 2].map(() => dashboard.watch('one-follow'));
    await waitFor(() => watches.every((handle) => seen(handle).steps.length > 30), {
      what: 'three watchers following on B',
    });
    expect(await metric(b, 'replica_session_follows')).toBe(before + 1);
    // One consumer of the session's events on the whole bus (nobody else watches it).
    expect(await consumersOf('one-follow')).toBe(1);

    await waitFor(() => trainer.acked.size === MESSAGES, {
      timeoutMs: 30_000,
      what: 'the whole run acknowledged',
    });
    for (const handle of watches) {
      await waitFor(() => seen(handle).steps.at(-1) === MESSAGES - 1, {
        what: 'the last batch on every watcher',
      });
      expect(handle.error).toBeUndefined();
      expect(seen(handle, 0n).cursorJumps).toEqual([]);
      expect(seen(handle).steps).toEqual(allSteps(MESSAGES));
    }

    for (const handle of watches) handle.cancel();
    await waitFor(async () => (await metric(b, 'replica_session_follows')) === before, {
      what: 'the follow stopped with its last watcher',
    });
    await waitFor(async () => (await consumersOf('one-follow')) === 0, {
      timeoutMs: 15_000,
      what: "the session's consumer gone from the bus",
    });
  }, 120_000);

  it('edits on a replica that does not hold the trainer reach watchers on every replica, live or finished', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const trainer = await startTrainer(() => b, 'edited-run', 120);
    await waitFor(() => trainer.acked.size >= 10, { what: 'the run under way on B' });
    const watches = [dashboardOn(a).watch('edited-run'), dashboardOn(b).watch('edited-run')];
    await waitFor(() => watches.every((handle) => seen(handle).steps.length > 10), {
      what: 'watchers on A and B following',
    });
    const tagsOn = (handle: WatchHandle): string[][] =>
      handle.events.flatMap((event) =>
        event.event.case === 'metadata' ? [event.event.value.tags] : [],
      );

    // While B streams the run: C sends the edit to B, which publishes it in the run's order.
    const live = await dashboardOn(c).updateSession({
      sessionId: 'edited-run',
      name: 'renamed on C',
      setTags: true,
      tags: ['live-edit'],
      note: 'edited on C while running',
    });
    expect(live.session?.metadata?.tags).toEqual(['live-edit']);
    for (const handle of watches) {
      await waitFor(() => tagsOn(handle).some((tags) => tags.includes('live-edit')), {
        what: 'the live edit on watchers on A and B',
      });
    }

    // The run ends and nobody holds it: C owns it for the edit.
    await waitFor(() => trainer.acked.size === 120, { what: 'the whole run acknowledged' });
    trainer.stop();
    await waitFor(() => watches.every((handle) => seen(handle).steps.at(-1) === 119), {
      what: 'the last batch on both watchers',
    });
    const finished = await dashboardOn(c).updateSession({
      sessionId: 'edited-run',
      setTags: true,
      tags: ['after-the-run'],
    });
    expect(finished.session?.metadata?.tags).toEqual(['after-the-run']);
    for (const handle of watches) {
      await waitFor(() => tagsOn(handle).some((tags) => tags.includes('after-the-run')), {
        what: 'the edit of the finished run on watchers on A and B',
      });
      expect(handle.error).toBeUndefined();
      expect(seen(handle, 0n).cursorJumps).toEqual([]);
      const notes = handle.events.flatMap((event) =>
        event.event.case === 'metadata' ? [event.event.value.note] : [],
      );
      expect(notes).toContain('edited on C while running');
    }
    for (const handle of watches) handle.cancel();
  }, 120_000);

  it('alert rules set and an alert acknowledged on C reach watchers on A and B', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const trainer = await startTrainer(() => b, 'alerted-run');
    await waitFor(() => trainer.acked.size >= 10, { what: 'the run under way on B' });
    const watches = [dashboardOn(a).watch('alerted-run'), dashboardOn(b).watch('alerted-run')];
    await waitFor(() => watches.every((handle) => seen(handle).steps.length > 10), {
      what: 'watchers on A and B following',
    });

    // 1/(i+1) improves by less than half over 10 points well before the run ends: a plateau.
    await dashboardOn(c).setAlertRules({
      sessionId: 'alerted-run',
      rules: [
        {
          kind: AlertRuleKind.PLATEAU,
          threshold: 0.5,
          window: 10n,
          action: AlertAction.NOTIFY,
        },
      ],
      updatedBy: 'replica test',
    });
    const alertsOn = (handle: WatchHandle): Alert[] =>
      handle.events.flatMap((event) => (event.event.case === 'alert' ? [event.event.value] : []));
    for (const handle of watches) {
      await waitFor(
        () =>
          handle.events.some(
            (event) =>
              event.event.case === 'alertSettings' &&
              event.event.value.rules.some(
                (rule) => rule.kind === AlertRuleKind.PLATEAU && rule.threshold === 0.5,
              ),
          ),
        { what: 'the rules set on C on watchers on A and B' },
      );
    }
    const raised = await waitFor(() => alertsOn(watches[0] as WatchHandle)[0], {
      timeoutMs: 15_000,
      what: 'the plateau alert raised by the owner',
    });

    await dashboardOn(c).acknowledgeAlert({
      sessionId: 'alerted-run',
      alertId: raised.alertId,
      acknowledgedBy: 'someone on C',
    });
    for (const handle of watches) {
      await waitFor(
        () =>
          alertsOn(handle).some(
            (alert) => alert.alertId === raised.alertId && alert.acknowledgedBy === 'someone on C',
          ),
        { what: 'the acknowledgement made on C on watchers on A and B' },
      );
      expect(handle.error).toBeUndefined();
      expect(seen(handle, 0n).cursorJumps).toEqual([]);
    }
    for (const handle of watches) handle.cancel();
  }, 120_000);
});
