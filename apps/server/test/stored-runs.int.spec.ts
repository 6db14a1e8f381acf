import { status } from '@grpc/grpc-js';
import {
  ConnectionState,
  SessionOrder,
  TrainingStatus,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import {
  expectCallError,
  grpcDashboard,
  grpcWebDashboard,
  makeJpeg,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
} from './harness';
import { RetentionService } from '../src/runs/retention.service';
import { RunsService } from '../src/runs/runs.service';
import { STORE_ENGINES, type StoreEngineFixture, type TestStore } from './store-engines';

const BATCHES = 40;
const jpeg = makeJpeg(8, 8);

const cases = (events: readonly WatchSessionResponse[]) => events.map((event) => event.event.case);

/**
 * Runs outlive the server: a restart on the same store lists every run with
 * its history, watches and queries it, and a trainer that comes back
 * resumes it with nothing doubled. Every read runs over native gRPC and
 * gRPC-Web, on SQLite and on PostgreSQL; a second trainer streams throughout.
 */
describe.each(STORE_ENGINES)('stored runs on %s', (_name, makeFixture) => {
  const fixture: StoreEngineFixture = makeFixture();
  let store: TestStore;
  let server: TestServer | undefined;
  const closers: (() => void)[] = [];

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

  async function start(env: Record<string, string> = {}): Promise<{
    grpc: DashboardApi;
    web: DashboardApi;
    telemetry: ReturnType<typeof telemetryClient>;
  }> {
    server = await startTestServer({ ...store.env, HEARTBEAT_INTERVAL_MS: '200', ...env });
    const grpc = grpcDashboard(server.grpcAddress);
    const web = grpcWebDashboard(server.httpUrl);
    const telemetry = telemetryClient(server.grpcAddress);
    closers.push(
      () => grpc.close(),
      () => web.close(),
      () => telemetry.close(),
    );
    return { grpc, web, telemetry };
  }

  /** A run of BATCHES batches (a named metric, images on every tenth), an epoch, then its stream ends. */
  async function recordRun(
    telemetry: ReturnType<typeof telemetryClient>,
    sessionId: string,
    name: string,
  ) {
    const registered = await register(telemetry, {
      sessionId,
      config: {
        totalEpochs: 2,
        batchesPerEpoch: 100,
        batchSize: 4,
        modelName: name,
        datasetName: 'mnist',
        classNames: ['a', 'b'],
      },
      metadata: { tags: ['baseline'], note: 'first' },
    });
    const stream = new TrainerStreamClient(telemetry, sessionId, registered.resumeToken);
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    for (let index = 0; index < BATCHES; index++) {
      stream.batch(BigInt(index + 2), 0, index, {
        batchLoss: 1 / (1 + index),
        // A diverging value: kept, and the maximum of its bucket.
        metrics: { lr: index === 17 ? Number.NaN : 0.1 * index },
        ...(index % 10 === 9
          ? {
              images: [{ imageBytes: jpeg, format: 'jpeg', width: 8, height: 8, channels: 3 }],
              predictions: [{ predictedClass: 1, confidence: 0.5 }],
              groundTruth: [1],
            }
          : {}),
      });
    }
    const last = BigInt(BATCHES + 2);
    stream.send(last, {
      case: 'epochData',
      value: { epoch: 0, averageLoss: 0.5, averageAccuracy: 0.75 },
    });
    await stream.waitForAck(last);
    expect(stream.errors()).toEqual([]);
    stream.end();
    await stream.waitForStatus();
    return { token: registered.resumeToken, lastSequence: last };
  }

  it('lists, watches and queries runs after a restart; a trainer that comes back resumes its run with nothing doubled', async () => {
    let clients = await start();
    const first = await recordRun(clients.telemetry, 'run-a', 'resnet');
    await recordRun(clients.telemetry, 'run-b', 'vit');
    await server?.shutdown();
    server = undefined;
    for (const close of closers.splice(0)) close();

    clients = await start();
    const { grpc, web, telemetry } = clients;
    // A healthy trainer on the restarted server, acknowledged throughout.
    await register(telemetry, { sessionId: 'healthy' });
    const healthy = new TrainerStreamClient(telemetry, 'healthy');
    closers.push(() => healthy.end());
    let healthySequence = 0n;
    const healthyStep = async () => {
      healthySequence += 1n;
      healthy.batch(healthySequence, 0, Number(healthySequence % 100n));
      await healthy.waitForAck(healthySequence);
    };
    await healthyStep();

    for (const dashboard of [grpc, web]) {
      const list = await dashboard.listSessions({});
      expect(list.sessions.map((s) => s.sessionId)).toEqual(['healthy', 'run-b', 'run-a']);
      expect(list.totalSize).toBe(3);
      const a = list.sessions.find((s) => s.sessionId === 'run-a');
      expect(a).toMatchObject({
        batchesReceived: BigInt(BATCHES),
        connection: ConnectionState.DISCONNECTED,
        storedFrames: 4,
        // loss, lr and class_acc/b (the one class its predictions saw, from the epoch's matrix).
        seriesCount: 3,
        classCount: 2,
      });
      expect(a?.config?.modelName).toBe('resnet');
      expect(a?.metadata?.tags).toEqual(['baseline']);
      const filtered = await dashboard.listSessions({ text: 'VIT' });
      expect(filtered.sessions.map((s) => s.sessionId)).toEqual(['run-b']);
      expect(filtered.totalSize).toBe(1);
      const byName = await dashboard.listSessions({ order: SessionOrder.NAME_ASC, pageSize: 2 });
      expect(byName.sessions.map((s) => s.sessionId)).toEqual(['healthy', 'run-a']);
      const rest = await dashboard.listSessions({
        order: SessionOrder.NAME_ASC,
        pageSize: 2,
        pageToken: byName.nextPageToken,
      });
      expect(rest.sessions.map((s) => s.sessionId)).toEqual(['run-b']);
      expect(rest.nextPageToken).toBe('');
      const foreign = await expectCallError(
        dashboard.listSessions({
          order: SessionOrder.CREATED_ASC,
          pageToken: byName.nextPageToken,
        }),
      );
      expect(foreign.code).toBe(status.INVALID_ARGUMENT);

      // Every point at full resolution; NaN kept as itself, and as its bucket's maximum.
      const exact = await dashboard.querySeries({ sessionId: 'run-a', names: ['loss', 'lr'] });
      expect(exact.series[0]).toMatchObject({
        name: 'loss',
        exact: true,
        totalPoints: BigInt(BATCHES),
      });
      expect(exact.series[0]?.lasts[3]).toBeCloseTo(1 / 4);
      expect(exact.series[1]?.lasts[17]).toBeNaN();
      const coarse = await dashboard.querySeries({ sessionId: 'run-a', maxPoints: 4 });
      // Every series, by name: the server's per-class accuracy of the epoch among them.
      expect(coarse.series.map((s) => s.name)).toEqual(['class_acc/b', 'loss', 'lr']);
      expect(coarse.series[0]?.lasts).toEqual([1]);
      coarse.series.shift();
      expect(coarse.series[1]).toMatchObject({
        exact: false,
        totalPoints: BigInt(BATCHES),
        counts: [10, 10, 10, 10],
      });
      expect(coarse.series[1]?.maxs[3]).toBeCloseTo(3.9);
      expect(coarse.series[1]?.maxs[1]).toBeNaN();
      expect(coarse.series[1]?.mins[1]).toBeCloseTo(1);
      const zoom = await dashboard.querySeries({
        sessionId: 'run-a',
        names: ['lr'],
        fromStep: 10n,
        toStep: 12n,
      });
      expect(zoom.series[0]?.steps).toEqual([10n, 11n, 12n]);
      expect(
        (await expectCallError(dashboard.querySeries({ sessionId: 'run-a', maxPoints: 10_001 })))
          .code,
      ).toBe(status.INVALID_ARGUMENT);
      expect((await expectCallError(dashboard.querySeries({ sessionId: 'nope' }))).code).toBe(
        status.NOT_FOUND,
      );

      const frames = await dashboard.getImageFrames({
        sessionId: 'run-a',
        aroundStep: 21n,
        maxFrames: 2,
      });
      expect(frames.frames.map((frame) => frame.step)).toEqual([19n, 29n]);
      expect(frames.frameSteps).toEqual([9n, 19n, 29n, 39n]);
      expect(Buffer.from(frames.frames[0]?.images[0]?.imageBytes ?? [])).toEqual(Buffer.from(jpeg));
    }
    await healthyStep();

    // Watching a stored run: its snapshot from the store, then the watch stays open.
    const watch = web.watch('run-a');
    closers.push(() => watch.cancel());
    await waitFor(() => cases(watch.events).includes('keepalive'), {
      what: 'keepalive on a stored run',
    });
    const snapshot =
      watch.events[0]?.event.case === 'snapshot' ? watch.events[0].event.value : undefined;
    expect(snapshot?.session?.batchesReceived).toBe(BigInt(BATCHES));
    expect(snapshot?.series.find((s) => s.name === 'lr')?.totalPoints).toBe(BigInt(BATCHES));
    expect(snapshot?.epochs.map((epoch) => epoch.averageAccuracy)).toEqual([0.75]);
    expect(snapshot?.latestImages?.step).toBe(39n);
    expect(snapshot?.session?.config?.classNames).toEqual(['a', 'b']);

    // The trainer comes back: replays its last acknowledged message, then goes on.
    const back = new TrainerStreamClient(telemetry, 'run-a', first.token);
    closers.push(() => back.end());
    back.batch(first.lastSequence - 1n, 0, BATCHES - 1);
    const replay = await back.waitForAck(first.lastSequence - 1n);
    expect(replay.duplicate).toBe(true);
    back.batch(first.lastSequence + 1n, 0, BATCHES, { metrics: { lr: 9 } });
    await back.waitForAck(first.lastSequence + 1n);
    await waitFor(() => cases(watch.events).includes('batch'), {
      what: "the resumed batch on the stored run's watch",
    });
    const live = watch.events.filter((event) => event.event.case !== 'keepalive');
    expect(cases(live)).toEqual(['snapshot', 'status', 'batch']);
    // Cursors stay consecutive from the snapshot through the run's return.
    expect(live.map((event) => event.cursor - (live[0]?.cursor ?? 0n))).toEqual([0n, 1n, 2n]);
    const resumed = (await grpc.listSessions({ text: 'run-a' })).sessions[0];
    expect(resumed).toMatchObject({
      batchesReceived: BigInt(BATCHES + 1),
      connection: ConnectionState.CONNECTED,
      batchIdx: BATCHES,
      partialHistory: false,
    });
    const loss = await grpc.querySeries({ sessionId: 'run-a', names: ['lr'] });
    expect(loss.series[0]?.totalPoints).toBe(BigInt(BATCHES + 1));
    expect(loss.series[0]?.lasts.at(-1)).toBe(9);
    await healthyStep();
  });

  it('answers QuerySeries of a finished run again from its cache, and never a stale answer once the run resumes', async () => {
    const { grpc, web, telemetry } = await start();
    const registered = await register(telemetry, { sessionId: 'done' });
    const stream = new TrainerStreamClient(telemetry, 'done', registered.resumeToken);
    for (let index = 0; index < BATCHES; index++) {
      stream.batch(BigInt(index + 1), 0, index, { batchLoss: 1 / (1 + index) });
    }
    const completed = BigInt(BATCHES + 1);
    stream.send(completed, {
      case: 'statusUpdate',
      value: { status: TrainingStatus.COMPLETED },
    });
    await stream.waitForAck(completed);
    stream.end();
    await stream.waitForStatus();
    await waitFor(
      async () =>
        (await grpc.listSessions({ text: 'done' })).sessions[0]?.status ===
        TrainingStatus.COMPLETED,
      { what: 'the finished run stored' },
    );
    const asked = { sessionId: 'done', names: ['loss'], maxPoints: 8 };
    const first = await grpc.querySeries(asked);
    expect(first.series[0]).toMatchObject({ totalPoints: BigInt(BATCHES), exact: false });
    // Both transports, again and again: the same answer.
    for (const dashboard of [grpc, web, grpc]) {
      expect(await dashboard.querySeries(asked)).toEqual(first);
    }

    // The trainer comes back and goes on: the next answer holds its new points.
    const back = new TrainerStreamClient(telemetry, 'done', registered.resumeToken);
    closers.push(() => back.end());
    back.batch(completed + 1n, 0, BATCHES, { batchLoss: 0.001 });
    await back.waitForAck(completed + 1n);
    for (const dashboard of [grpc, web]) {
      const resumed = await dashboard.querySeries(asked);
      expect(resumed.series[0]?.totalPoints).toBe(BigInt(BATCHES + 1));
      expect(resumed.series[0]?.lasts.at(-1)).toBeCloseTo(0.001);
    }
    // Finished again, with one more point: answered from the store, then the cache.
    back.send(completed + 2n, {
      case: 'statusUpdate',
      value: { status: TrainingStatus.COMPLETED },
    });
    await back.waitForAck(completed + 2n);
    back.end();
    await back.waitForStatus();
    for (const dashboard of [grpc, web, grpc]) {
      const again = await dashboard.querySeries(asked);
      expect(again.series[0]?.totalPoints).toBe(BigInt(BATCHES + 1));
    }
    // Deleted: gone from the cache too.
    await grpc.deleteSession({ sessionId: 'done' });
    expect((await expectCallError(web.querySeries(asked))).code).toBe(status.NOT_FOUND);
  });

  it('answers repeated names, statuses and tags once each, reads steps past 2^53 as the last one, and refuses lists past their bounds', async () => {
    const { grpc, web, telemetry } = await start();
    await recordRun(telemetry, 'lists', 'a');
    // More repeats than either database takes parameters in one query: asked once each.
    const repeated = await grpc.querySeries({
      sessionId: 'lists',
      names: Array.from({ length: 70_000 }, (_, index) => (index % 2 === 0 ? 'loss' : 'lr')),
    });
    expect(repeated.series.map((series) => series.name)).toEqual(['loss', 'lr']);
    expect(repeated.series[0]?.totalPoints).toBe(BigInt(BATCHES));
    const stored = (await grpc.listSessions({})).sessions[0]?.status ?? TrainingStatus.UNKNOWN;
    const listed = await grpc.listSessions({
      statuses: Array.from({ length: 70_000 }, () => stored),
      tags: Array.from({ length: 70_000 }, () => 'baseline'),
    });
    expect(listed.sessions.map((session) => session.sessionId)).toEqual(['lists']);

    for (const dashboard of [grpc, web]) {
      const names = Array.from({ length: 1001 }, (_, index) => `series_${index}`);
      const tooMany = await expectCallError(dashboard.querySeries({ sessionId: 'lists', names }));
      expect(tooMany.code).toBe(status.INVALID_ARGUMENT);
      expect(tooMany.message).toMatch(/names has 1001 distinct names; at most 1000/);
      const tooLong = await expectCallError(
        dashboard.querySeries({ sessionId: 'lists', names: ['x'.repeat(129)] }),
      );
      expect(tooLong.message).toMatch(/a series name has at most 128/);
      const tags = Array.from({ length: 33 }, (_, index) => `tag-${index}`);
      const tooManyTags = await expectCallError(dashboard.listSessions({ tags }));
      expect(tooManyTags.code).toBe(status.INVALID_ARGUMENT);
      expect(tooManyTags.message).toMatch(/tags has 33 distinct tags/);
      const unknown = await expectCallError(
        dashboard.listSessions({ statuses: [99 as TrainingStatus] }),
      );
      expect(unknown.code).toBe(status.INVALID_ARGUMENT);
      expect(unknown.message).toMatch(/statuses holds 99, not a TrainingStatus/);
    }
    // Steps past 2^53 read as the last possible one: nearest to it is the newest frame.
    const huge = (1n << 63n) - 1n;
    for (const dashboard of [grpc, web]) {
      const newest = await dashboard.getImageFrames({
        sessionId: 'lists',
        aroundStep: huge,
        maxFrames: 1,
      });
      expect(newest.frames.map((frame) => frame.step)).toEqual([BigInt(BATCHES - 1)]);
      const past = await dashboard.querySeries({
        sessionId: 'lists',
        names: ['loss'],
        fromStep: huge - 1n,
        toStep: huge,
      });
      expect(past.series[0]?.steps).toEqual([]);
      expect(
        (await dashboard.getImageFrames({ sessionId: 'lists', fromStep: huge })).frames,
      ).toEqual([]);
    }
    // Refused requests harm nothing: the run reads as before.
    expect((await web.querySeries({ sessionId: 'lists', names: ['loss'] })).series).toHaveLength(1);
  });

  it('renames and retags a stored run; deletes a run once its trainer is gone, every row with it, its watchers told NOT_FOUND', async () => {
    const { grpc, web, telemetry } = await start();
    await recordRun(telemetry, 'keep', 'a');
    await recordRun(telemetry, 'gone', 'b');
    for (const [index, dashboard] of [grpc, web].entries()) {
      const updated = await dashboard.updateSession({
        sessionId: 'keep',
        name: `Best ${index}`,
        setTags: true,
        tags: ['x', 'y'],
        note: 'n',
      });
      expect(updated.session).toMatchObject({ sessionId: 'keep', name: `Best ${index}` });
      expect(updated.session?.metadata).toMatchObject({ tags: ['x', 'y'], note: 'n' });
      expect(
        (await dashboard.listSessions({ tags: ['y'] })).sessions.map((s) => s.sessionId),
      ).toEqual(['keep']);
      expect(
        (await dashboard.listSessions({ text: `best ${index}` })).sessions.map((s) => s.sessionId),
      ).toEqual(['keep']);
      expect(
        (
          await expectCallError(
            dashboard.updateSession({ sessionId: 'keep', name: 'x'.repeat(257) }),
          )
        ).code,
      ).toBe(status.INVALID_ARGUMENT);
      expect(
        (
          await expectCallError(
            dashboard.updateSession({ sessionId: 'keep', setTags: true, tags: ['bad,tag'] }),
          )
        ).code,
      ).toBe(status.INVALID_ARGUMENT);
      expect(
        (await expectCallError(dashboard.updateSession({ sessionId: 'nope', name: 'x' }))).code,
      ).toBe(status.NOT_FOUND);
    }

    // Streaming: refused.
    const registered = await register(telemetry, { sessionId: 'gone' });
    const stream = new TrainerStreamClient(telemetry, 'gone', registered.resumeToken);
    stream.batch(BigInt(BATCHES + 3), 0, 50);
    await stream.waitForAck(BigInt(BATCHES + 3));
    const refused = await expectCallError(web.deleteSession({ sessionId: 'gone' }));
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    stream.end();
    await stream.waitForStatus();

    const watch = grpc.watch('gone');
    await waitFor(() => watch.events.length > 0, { what: 'snapshot' });
    await grpc.deleteSession({ sessionId: 'gone' });
    await waitFor(() => watch.error, { what: 'watch ended' });
    expect(watch.error?.code).toBe(status.NOT_FOUND);
    expect((await expectCallError(web.deleteSession({ sessionId: 'gone' }))).code).toBe(
      status.NOT_FOUND,
    );
    expect((await expectCallError(web.querySeries({ sessionId: 'gone' }))).code).toBe(
      status.NOT_FOUND,
    );
    expect((await web.listSessions({})).sessions.map((s) => s.sessionId)).toEqual(['keep']);
    const reader = await store.open();
    try {
      for (const table of [
        'sessions',
        'series',
        'epochs',
        'commands',
        'image_frames',
        'status_events',
        'session_tags',
        'performance',
      ] as const) {
        const rows = await reader.db.selectFrom(table).selectAll().execute();
        const ids = rows.map((row) =>
          'session_id' in row ? row.session_id : (row as { id: string }).id,
        );
        expect([table, ids.filter((id) => id === 'gone')]).toEqual([table, []]);
      }
      const points = await reader.db.selectFrom('points').select('series_id').distinct().execute();
      const series = await reader.db.selectFrom('series').select('id').execute();
      expect(points.map((p) => Number(p.series_id)).sort()).toEqual(
        series.map((s) => Number(s.id)).sort(),
      );
    } finally {
      await reader.close();
    }
    // The kept run is untouched.
    expect(
      (await grpc.querySeries({ sessionId: 'keep', names: ['loss'] })).series[0]?.totalPoints,
    ).toBe(BigInt(BATCHES));
  });

  it('resumes a broken watch from its cursor without a snapshot; an unknown cursor gets a snapshot', async () => {
    const { grpc, web, telemetry } = await start();
    await register(telemetry, { sessionId: 'live' });
    const stream = new TrainerStreamClient(telemetry, 'live');
    closers.push(() => stream.end());
    let sequence = 0n;
    const batches = async (count: number) => {
      for (let index = 0; index < count; index++) {
        sequence += 1n;
        stream.batch(sequence, 0, Number(sequence));
      }
      await stream.waitForAck(sequence);
    };
    await batches(3);
    for (const dashboard of [grpc, web]) {
      const first = dashboard.watch('live');
      await waitFor(() => first.events.length > 0, { what: 'snapshot' });
      await batches(2);
      await waitFor(() => cases(first.events).filter((c) => c === 'batch').length === 2, {
        what: 'two batches',
      });
      first.cancel();
      const seen =
        first.events.filter((event) => event.event.case === 'batch').at(-1)?.cursor ?? 0n;
      await batches(5);
      const resumed = dashboard.watch('live', seen);
      closers.push(() => resumed.cancel());
      await waitFor(() => cases(resumed.events).filter((c) => c === 'batch').length === 5, {
        what: 'missed batches',
      });
      expect(cases(resumed.events).slice(0, 6)).toEqual([
        'keepalive',
        'batch',
        'batch',
        'batch',
        'batch',
        'batch',
      ]);
      const cursors = resumed.events
        .filter((event) => event.event.case === 'batch')
        .map((event) => event.cursor);
      expect(cursors).toEqual([1n, 2n, 3n, 4n, 5n].map((n) => seen + n));
      resumed.cancel();
      // A cursor this server never issued (a restarted server's): a snapshot as usual.
      const unknown = dashboard.watch('live', 12345n);
      closers.push(() => unknown.cancel());
      await waitFor(() => unknown.events.length > 0, { what: 'snapshot for an unknown cursor' });
      expect(unknown.events[0]?.event.case).toBe('snapshot');
      unknown.cancel();
    }
  });

  it('RETENTION_DAYS deletes runs not updated for that long at start-up, and keeps the rest and those tagged keep', async () => {
    let clients = await start();
    await recordRun(clients.telemetry, 'old', 'a');
    await recordRun(clients.telemetry, 'recent', 'b');
    await recordRun(clients.telemetry, 'old-kept', 'c');
    await clients.web.updateSession({
      sessionId: 'old-kept',
      setTags: true,
      tags: ['baseline', 'keep'],
    });
    await server?.shutdown();
    server = undefined;
    for (const close of closers.splice(0)) close();
    const reader = await store.open();
    const threeDaysAgo = Date.now() - 3 * 24 * 60 * 60 * 1000;
    await reader.db
      .updateTable('sessions')
      .set({ last_update_ms: threeDaysAgo })
      .where('id', 'in', ['old', 'old-kept'])
      .execute();
    await reader.close();

    clients = await start({ RETENTION_DAYS: '2' });
    await waitFor(async () => (await clients.grpc.listSessions({})).sessions.length === 2, {
      what: 'the expired run deleted',
    });
    expect((await clients.web.listSessions({})).sessions.map((s) => s.sessionId).sort()).toEqual([
      'old-kept',
      'recent',
    ]);
    // The kept run is whole: its series still answer.
    expect(
      (await clients.web.querySeries({ sessionId: 'old-kept' })).series.length,
    ).toBeGreaterThan(0);
    expect((await expectCallError(clients.web.querySeries({ sessionId: 'old' }))).code).toBe(
      status.NOT_FOUND,
    );
  });

  /** Eight recorded runs named `${prefix}-N`, then a restart: held only in the store. */
  async function storedRuns(prefix: string) {
    const recording = await start();
    const ids = Array.from({ length: 8 }, (_, index) => `${prefix}-${index}`);
    for (const id of ids) await recordRun(recording.telemetry, id, id);
    await server?.shutdown();
    server = undefined;
    for (const close of closers.splice(0)) close();
    return { ids, ...(await start()) };
  }

  it('keeps both of two edits of a stored run made at once', async () => {
    // Each edit reads the stored metadata, merges and writes it back.
    const { ids, grpc, web } = await storedRuns('edited');
    await Promise.all(
      ids.map((sessionId) =>
        Promise.all([
          grpc.updateSession({ sessionId, note: `note of ${sessionId}` }),
          web.updateSession({ sessionId, setTags: true, tags: ['retagged'] }),
        ]),
      ),
    );
    for (const session of (await grpc.listSessions({ sessionIds: ids })).sessions) {
      expect(session.metadata).toMatchObject({
        note: `note of ${session.sessionId}`,
        tags: ['retagged'],
      });
    }
  });

  it('answers an edit racing a delete of a stored run with OK or NOT_FOUND', async () => {
    const { ids, grpc, web } = await storedRuns('raced');
    const outcomes = await Promise.all(
      ids.map(async (sessionId, index) => {
        const deleted = grpc.deleteSession({ sessionId });
        if (index % 2 === 1) await new Promise((resolve) => setTimeout(resolve, index));
        const edited = web
          .updateSession({ sessionId, setTags: true, tags: ['late'], note: 'late' })
          .then(
            () => 'ok',
            async (error: unknown) => (await expectCallError(Promise.reject(error))).code,
          );
        await deleted;
        return edited;
      }),
    );
    for (const outcome of outcomes) expect(['ok', status.NOT_FOUND]).toContain(outcome);
    expect((await grpc.listSessions({ sessionIds: ids })).sessions).toEqual([]);
  });

  it('a retention sweep keeps a run that came back after the sweep listed it: its trainer resumed it, or another server wrote it', async () => {
    let clients = await start();
    const back = await recordRun(clients.telemetry, 'back', 'a');
    await recordRun(clients.telemetry, 'written-elsewhere', 'b');
    await recordRun(clients.telemetry, 'gone', 'c');
    await server?.shutdown();
    server = undefined;
    for (const close of closers.splice(0)) close();
    const threeDaysAgo = Date.now() - 3 * 24 * 60 * 60 * 1000;
    const reader = await store.open();
    await reader.db.updateTable('sessions').set({ last_update_ms: threeDaysAgo }).execute();

    // Kept at start-up (4 days); the sweep below runs as if two days later.
    clients = await start({ RETENTION_DAYS: '4' });
    const app = (server as unknown as TestServer).app;
    const runs = app.get(RunsService);
    const later = Date.now() + 2 * 24 * 60 * 60 * 1000;
    const before = later - 4 * 24 * 60 * 60 * 1000;
    // The list as a sweep reads it first; deleting large runs ahead of these takes a while.
    const listed = await runs.expiredRuns(before, 16);
    expect([...listed].sort()).toEqual(['back', 'gone', 'written-elsewhere']);
    // Meanwhile the trainer of 'back' resumes it, and another server commits to 'written-elsewhere'.
    const resumed = new TrainerStreamClient(clients.telemetry, 'back', back.token);
    closers.push(() => resumed.end());
    resumed.batch(back.lastSequence + 1n, 0, BATCHES);
    await resumed.waitForAck(back.lastSequence + 1n);
    await reader.db
      .updateTable('sessions')
      .set({ last_update_ms: Date.now() })
      .where('id', '=', 'written-elsewhere')
      .execute();
    await reader.close();
    jest.spyOn(runs, 'expiredRuns').mockResolvedValueOnce(listed);
    expect(await app.get(RetentionService).sweep(later)).toBe(1);

    const kept = await clients.grpc.listSessions({});
    expect(kept.sessions.map((s) => s.sessionId).sort()).toEqual(['back', 'written-elsewhere']);
    expect(kept.sessions.find((s) => s.sessionId === 'back')).toMatchObject({
      connection: ConnectionState.CONNECTED,
      batchesReceived: BigInt(BATCHES + 1),
      partialHistory: false,
    });
    expect(kept.sessions.find((s) => s.sessionId === 'back')?.metadata?.note).toBe('first');
    // Every acknowledged point of both, and their image frames.
    const loss = await clients.grpc.querySeries({ sessionId: 'back', names: ['loss'] });
    expect(loss.series[0]?.totalPoints).toBe(BigInt(BATCHES + 1));
    for (const sessionId of ['back', 'written-elsewhere']) {
      const frames = await clients.web.getImageFrames({ sessionId, maxFrames: 8 });
      expect(frames.frames.length).toBe(BATCHES / 10);
    }
    expect((await expectCallError(clients.grpc.querySeries({ sessionId: 'gone' }))).code).toBe(
      status.NOT_FOUND,
    );
    resumed.end();
  });
});
