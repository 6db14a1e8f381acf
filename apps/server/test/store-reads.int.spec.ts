import { create, toBinary } from '@bufbuild/protobuf';
import {
  ImageFrameSchema,
  RunMetadataSchema,
  SeriesKind,
  SessionOrder,
  TrainingStatus,
} from '@trainwatch/proto';
import type { OpenDatabase } from '../src/store/open-database';
import { comesBefore, decodePageToken, encodePageToken } from '../src/store/session-order';
import { StoreEdits } from '../src/store/store-edits';
import { StoreReads, type SessionFilter } from '../src/store/store-reads';
import { STORE_ENGINES, type StoreEngineFixture, type TestStore } from './store-engines';

const none: SessionFilter = { statuses: [], text: '', tags: [], ids: [], excludeIds: [] };

async function addRun(
  open: OpenDatabase,
  id: string,
  fields: {
    created: number;
    updated?: number;
    name?: string;
    model?: string;
    status?: TrainingStatus;
    tags?: string[];
  },
): Promise<void> {
  await open.db
    .insertInto('sessions')
    .values({
      id,
      name: fields.name ?? '',
      created_at_ms: fields.created,
      last_update_ms: fields.updated ?? fields.created,
      last_seen_ms: fields.created,
      status: fields.status ?? TrainingStatus.RUNNING,
      connection: 1,
      model_name: fields.model ?? '',
      metadata: Buffer.from(
        toBinary(RunMetadataSchema, create(RunMetadataSchema, { tags: fields.tags ?? [] })),
      ),
    })
    .execute();
  for (const tag of fields.tags ?? []) {
    await open.db.insertInto('session_tags').values({ session_id: id, tag }).execute();
  }
}

async function addSeries(
  open: OpenDatabase,
  sessionId: string,
  name: string,
  values: (number | null)[],
  stepEvery = 1,
): Promise<number> {
  const row = await open.db
    .insertInto('series')
    .values({ session_id: sessionId, name, kind: SeriesKind.STEP })
    .returning('id')
    .executeTakeFirstOrThrow();
  const id = Number(row.id);
  for (let start = 0; start < values.length; start += 5000) {
    await open.db
      .insertInto('points')
      .values(
        values.slice(start, start + 5000).map((value, index) => ({
          series_id: id,
          step: (start + index) * stepEvery,
          value,
          wall_ms: 1000 + start + index,
        })),
      )
      .execute();
  }
  return id;
}

/** The read queries, one suite on both engines (each test on an empty store of its own). */
describe.each(STORE_ENGINES)('store reads on %s', (_name, makeFixture) => {
  const fixture: StoreEngineFixture = makeFixture();
  let store: TestStore;
  let open: OpenDatabase;
  let reads: StoreReads;
  let edits: StoreEdits;
  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  beforeEach(async () => {
    store = await fixture.newStore();
    open = await store.open();
    reads = new StoreReads(open.db);
    edits = new StoreEdits(open.db);
  });
  afterEach(async () => {
    await open.close();
    store.remove();
  });

  it('lists runs in every order, a page at a time, with tokens that hold their place', async () => {
    await addRun(open, 'a', { created: 10, updated: 50, name: 'Zeta' });
    await addRun(open, 'b', { created: 20, updated: 40 });
    await addRun(open, 'c', { created: 20, updated: 60, name: 'alpha' });
    await addRun(open, 'd', { created: 30, updated: 30, name: 'Beta' });
    const ids = async (order: SessionOrder) => {
      const seen: string[] = [];
      let after;
      for (;;) {
        const rows = await reads.listSessions(none, order, after, 2);
        seen.push(...rows.map((row) => row.id));
        const last = rows.at(-1);
        if (rows.length < 2 || last === undefined) return seen;
        const key =
          order === SessionOrder.NAME_ASC
            ? (last.name || last.id).toLowerCase()
            : order === SessionOrder.UPDATED_DESC
              ? last.last_update_ms
              : last.created_at_ms;
        // Round trip through the token, as a client does.
        after = decodePageToken(encodePageToken(order, { key, id: last.id }), order);
      }
    };
    expect(await ids(SessionOrder.UNSPECIFIED)).toEqual(['d', 'c', 'b', 'a']);
    expect(await ids(SessionOrder.CREATED_ASC)).toEqual(['a', 'b', 'c', 'd']);
    expect(await ids(SessionOrder.UPDATED_DESC)).toEqual(['c', 'a', 'b', 'd']);
    expect(await ids(SessionOrder.NAME_ASC)).toEqual(['c', 'b', 'd', 'a']);
    expect(
      comesBefore(SessionOrder.NAME_ASC, { key: 'alpha', id: 'c' }, { key: 'b', id: 'b' }),
    ).toBe(true);
  });

  it('filters by status, text over id, name, model and tags (case-insensitive, wildcards literal), every tag, and ids', async () => {
    await addRun(open, 'run-1', { created: 1, name: 'ResNet baseline', tags: ['baseline', 'gpu'] });
    await addRun(open, 'run-2', {
      created: 2,
      model: 'ViT_small',
      status: TrainingStatus.COMPLETED,
      tags: ['gpu'],
    });
    await addRun(open, 'run-3', { created: 3, tags: ['100%'] });
    const ids = async (filter: Partial<SessionFilter>) =>
      (
        await reads.listSessions({ ...none, ...filter }, SessionOrder.CREATED_ASC, undefined, 10)
      ).map((row) => row.id);
    expect(await ids({ statuses: [TrainingStatus.COMPLETED] })).toEqual(['run-2']);
    expect(await ids({ text: 'RESNET' })).toEqual(['run-1']);
    expect(await ids({ text: 'vit_' })).toEqual(['run-2']);
    expect(await ids({ text: '_' })).toEqual(['run-2']);
    expect(await ids({ text: '%' })).toEqual(['run-3']);
    expect(await ids({ text: 'GPU' })).toEqual(['run-1', 'run-2']);
    expect(await ids({ tags: ['gpu', 'baseline'] })).toEqual(['run-1']);
    expect(await ids({ excludeIds: ['run-1'] })).toEqual(['run-2', 'run-3']);
    expect(await ids({ ids: ['run-3', 'run-1', 'not-stored'] })).toEqual(['run-1', 'run-3']);
    expect(await ids({ ids: ['run-1', 'run-2'], tags: ['baseline'] })).toEqual(['run-1']);
    expect(await reads.countSessions({ ...none, tags: ['gpu'] })).toBe(2);
    expect(await reads.countSessions({ ...none, ids: ['run-2', 'run-3'] })).toBe(2);
  });

  it('buckets a window in SQL: min, max, last and count per bucket; exact when few points; NaN is a maximum', async () => {
    await addRun(open, 's', { created: 1 });
    const values = Array.from({ length: 10_000 }, (_, step) =>
      step === 5_003 ? null : step % 100,
    );
    const id = await addSeries(open, 's', 'loss', values);
    const series = { id, name: 'loss', kind: SeriesKind.STEP };
    const whole = await reads.seriesWindow(series, 0, undefined, 100);
    expect(whole.exact).toBe(false);
    expect(whole.totalPoints).toBe(10_000);
    expect(whole.buckets).toHaveLength(100);
    expect(whole.buckets[0]).toEqual({
      step: 0,
      min: 0,
      max: 99,
      last: 99,
      lastStep: 99,
      lastWallMs: 1099,
      count: 100,
    });
    expect(whole.buckets[50]?.max).toBeNaN();
    expect(whole.buckets[50]?.min).toBe(0);
    // Zoomed in: the window at full resolution.
    const zoom = await reads.seriesWindow(series, 5_000, 5_009, 100);
    expect(zoom.exact).toBe(true);
    expect(zoom.buckets.map((bucket) => bucket.step)).toEqual([
      5000, 5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 5009,
    ]);
    expect(zoom.buckets[3]?.last).toBeNaN();
    expect(zoom.buckets[4]).toMatchObject({ min: 4, max: 4, last: 4, count: 1 });
    // Sparse steps over a wide window are still exact.
    const sparseId = await addSeries(open, 's', 'val', [1, 2, 3], 1000);
    const sparse = await reads.seriesWindow(
      { id: sparseId, name: 'val', kind: SeriesKind.STEP },
      0,
      undefined,
      10,
    );
    expect(sparse).toMatchObject({ exact: true, totalPoints: 3 });
    expect(sparse.buckets.map((bucket) => bucket.step)).toEqual([0, 1000, 2000]);
    const empty = await reads.seriesWindow(series, 20_000, 30_000, 10);
    expect(empty).toMatchObject({ totalPoints: 0, buckets: [] });
  });

  it('finds frames nearest a step, spreads frame steps, and deletes every row of a run', async () => {
    await addRun(open, 'f', { created: 1, tags: ['x'] });
    await addRun(open, 'other', { created: 2 });
    await addSeries(open, 'f', 'loss', [1, 2, 3]);
    const otherSeries = await addSeries(open, 'other', 'loss', [1]);
    for (let step = 0; step < 100; step += 10) {
      const frame = Buffer.from(
        toBinary(ImageFrameSchema, create(ImageFrameSchema, { step: BigInt(step) })),
      );
      await open.db
        .insertInto('image_frames')
        .values({
          session_id: 'f',
          step,
          epoch: 0,
          batch_idx: step,
          timestamp_ms: step,
          bytes: frame.length,
          frame,
        })
        .execute();
    }
    const near = await reads.frameSizes('f', 0, undefined, 3, 44);
    expect(near.map((frame) => frame.step)).toEqual([40, 50, 30]);
    expect((await reads.framesAt('f', [50, 40])).map((frame) => frame.step)).toEqual([40n, 50n]);
    expect(await reads.frameSteps('f', 0, undefined, 10_000)).toEqual([
      0, 10, 20, 30, 40, 50, 60, 70, 80, 90,
    ]);
    expect(await reads.frameSteps('f', 0, undefined, 4)).toEqual([0, 30, 60, 90]);
    expect(await reads.frameSteps('f', 25, 55, 100)).toEqual([30, 40, 50]);

    expect(await edits.deleteSession('f')).toBe(true);
    expect(await edits.deleteSession('f')).toBe(false);
    for (const table of ['sessions', 'session_tags', 'series', 'image_frames'] as const) {
      const rows = await open.db.selectFrom(table).selectAll().execute();
      expect(
        rows.every(
          (row) =>
            (row as { session_id?: string; id?: unknown }).session_id !== 'f' &&
            (row as { id?: unknown }).id !== 'f',
        ),
      ).toBe(true);
    }
    const points = await open.db.selectFrom('points').select('series_id').execute();
    expect(points.map((point) => Number(point.series_id))).toEqual([otherSeries]);
  });

  it('renames a run and replaces its tags and note; finds runs past retention, leaving those in use', async () => {
    await addRun(open, 'old', { created: 1, updated: 100, tags: ['a'] });
    await addRun(open, 'live', { created: 2, updated: 200 });
    await addRun(open, 'new', { created: 3, updated: 5000 });
    const metadata = create(RunMetadataSchema, { tags: ['b', 'c'], note: 'kept' });
    expect(await edits.updateSession('old', { name: 'First try', metadata })).toBe(true);
    expect(await edits.updateSession('missing', { name: 'x' })).toBe(false);
    const row = await reads.session('old');
    expect(row).toMatchObject({ name: 'First try', note: 'kept' });
    expect(await reads.countSessions({ ...none, tags: ['a'] })).toBe(0);
    expect(await reads.countSessions({ ...none, tags: ['b', 'c'] })).toBe(1);
    expect(await edits.expiredRuns(1000, 10, ['live'])).toEqual(['old']);
    expect(await edits.expiredRuns(10_000, 1, [])).toEqual(['old']);
  });
});
