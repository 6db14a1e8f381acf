import { create } from '@bufbuild/protobuf';
import { BatchDataSchema, ImageFrameSchema, SeriesKind } from '@trainwatch/proto';
import { sql } from 'kysely';
import { Client } from 'pg';
import { ConfusionHistory } from '../src/history/confusion-matrix';
import type { OpenDatabase } from '../src/store/open-database';
import type { RetentionPolicy } from '../src/store/image-retention';
import { PendingWrites } from '../src/store/pending-writes';
import { WriterState, writeFlush } from '../src/store/write-flush';
import type { Session } from '../src/sessions/session';
import { insertBareSessions, STORE_ENGINES, type TestStore } from './store-engines';

/** Runs written by one commit: enough that per-run statements would show. */
const RUNS = 20;
const FRAMES_PER_RUN = 3;
/** Nothing is thinned: every frame sent is stored. */
const KEEP_ALL: RetentionPolicy = { recentSteps: 1_000_000, budgetBytes: 1_000_000_000 };

interface SentStatement {
  client: Client;
  text: string;
}

/**
 * A commit on PostgreSQL: image frames go in a transaction of their own, on
 * a second connection, which commits before the main transaction (so an ack
 * never precedes its frames); the main transaction sends one statement per
 * table, not one per run; a failed frame transaction fails the whole commit
 * and the retry stores everything once.
 */
const [, postgresFixture] = STORE_ENGINES.find(([name]) => name === 'PostgreSQL')!;

describe('PostgreSQL commit', () => {
  const engine = postgresFixture();
  let store: TestStore;
  let open: OpenDatabase;
  let sent: SentStatement[];
  let spy: jest.SpyInstance;

  beforeAll(() => engine.setUp(), 60_000);
  afterAll(() => engine.tearDown());
  beforeEach(async () => {
    sessions.clear();
    store = await engine.newStore();
    open = await store.open();
    await insertBareSessions(open, runIds());
    sent = [];
    const original = Client.prototype.query;
    spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (
      this: Client,
      ...args: unknown[]
    ) {
      const first = args[0];
      const text = typeof first === 'string' ? first : (first as { text?: string }).text;
      if (text !== undefined) sent.push({ client: this, text });
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as never);
  });
  afterEach(async () => {
    spy.mockRestore();
    await open.close();
    store.remove();
  });

  function runIds(): string[] {
    return [...Array(RUNS).keys()].map((index) => `run-${index}`);
  }

  /** Each run's id and confusion matrices: what the writer reads of a session here. */
  const sessions = new Map<string, Session>();
  function sessionOf(id: string): Session {
    let session = sessions.get(id);
    if (session === undefined) {
      session = { id, confusion: new ConfusionHistory() } as unknown as Session;
      sessions.set(id, session);
    }
    return session;
  }

  function batchOf(firstStep: number): PendingWrites {
    const batch = new PendingWrites();
    for (const id of runIds()) {
      const session = sessionOf(id);
      // One more prediction counted in epoch 0 per commit: its matrix is written as it stands.
      session.confusion.count(
        create(BatchDataSchema, {
          epoch: 0,
          predictions: [{ predictedClass: 1 }],
          groundTruth: [1],
        }),
      );
      batch.markConfusion(session, 0);
      for (let index = 0; index < FRAMES_PER_RUN; index++) {
        const step = firstStep + index;
        batch.addPoint(session, 'loss', SeriesKind.STEP, BigInt(step), 1 / (step + 1), 1000 + step);
        batch.addFrame(
          session,
          create(ImageFrameSchema, {
            step: BigInt(step),
            batchIdx: step,
            images: [{ imageBytes: new Uint8Array(2048).fill(step), width: 1, height: 1 }],
          }),
        );
      }
    }
    return batch;
  }

  it('commits frames on their own connection, in one statement, before the main transaction commits; the main transaction sends one statement per table whatever the number of runs', async () => {
    const state = new WriterState(open);
    await writeFlush(open, batchOf(0), state, KEEP_ALL);
    sent = [];
    await writeFlush(open, batchOf(FRAMES_PER_RUN), state, KEEP_ALL);

    const frameInserts = sent.filter((s) => s.text.startsWith('insert into image_frames'));
    expect(frameInserts).toHaveLength(1);
    const frameClient = frameInserts[0]!.client;
    const mainClient = sent.find((s) => s.text.startsWith('insert into points'))!.client;
    expect(frameClient).not.toBe(mainClient);
    // One round trip for the frames: no begin or commit around the single statement.
    expect(sent.filter((s) => s.client === frameClient)).toHaveLength(1);
    const mainCommit = sent.findIndex(
      (s) => s.client === mainClient && s.text.toLowerCase() === 'commit',
    );
    expect(sent.indexOf(frameInserts[0]!)).toBeLessThan(mainCommit);

    const main = sent.filter((s) => s.client === mainClient).map((s) => s.text.split(' (')[0]);
    // begin, points, series blocks, confusion matrices, frame totals, commit: not one statement per run.
    expect(main.length).toBeLessThanOrEqual(7);
    expect(main.filter((text) => text.startsWith('update sessions'))).toHaveLength(1);
    expect(main.filter((text) => text.startsWith('insert into confusion_matrices'))).toHaveLength(
      1,
    );
    const matrices = await open.db
      .selectFrom('confusion_matrices')
      .select(['session_id', 'predictions'])
      .orderBy('session_id')
      .execute();
    expect(matrices.map((row) => [row.session_id, Number(row.predictions)])).toEqual(
      runIds()
        .sort()
        .map((id) => [id, 2]),
    );

    const stored = await open.db
      .selectFrom('image_frames')
      .select(({ fn }) => fn.countAll<number>().as('frames'))
      .executeTakeFirstOrThrow();
    expect(Number(stored.frames)).toBe(RUNS * FRAMES_PER_RUN * 2);
    const totals = await open.db
      .selectFrom('sessions')
      .select(['id', 'stored_frames', 'stored_image_bytes'])
      .orderBy('id')
      .execute();
    for (const row of totals) {
      expect(Number(row.stored_frames)).toBe(FRAMES_PER_RUN * 2);
      expect(Number(row.stored_image_bytes)).toBeGreaterThan(FRAMES_PER_RUN * 2 * 2048);
    }
  });

  it('drops the frames retention thins in the same statement that inserts the new ones', async () => {
    // Two recent steps kept whole, older ones thinned: the second commit drops stored frames.
    const thinning: RetentionPolicy = { recentSteps: 2, budgetBytes: 1_000_000_000 };
    const state = new WriterState(open);
    await writeFlush(open, batchOf(0), state, thinning);
    const before = await storedSteps();
    sent = [];
    await writeFlush(open, batchOf(FRAMES_PER_RUN), state, thinning);

    const frameStatements = sent.filter((s) => s.text.includes('image_frames'));
    const frameClient = frameStatements.find((s) => s.text.includes('insert into'))!.client;
    const onFrameClient = sent.filter((s) => s.client === frameClient);
    expect(onFrameClient).toHaveLength(1);
    expect(onFrameClient[0]!.text).toMatch(
      /^with dropped as \(delete from image_frames .*\) insert into image_frames/,
    );
    const after = await storedSteps();
    for (const id of runIds()) {
      const kept = after.get(id) ?? [];
      // The newest steps are stored, and some step stored by the first commit is gone.
      expect(kept).toEqual(expect.arrayContaining([4, 5]));
      expect((before.get(id) ?? []).some((step) => !kept.includes(step))).toBe(true);
    }
    const totals = await open.db.selectFrom('sessions').select(['id', 'stored_frames']).execute();
    for (const row of totals) expect(Number(row.stored_frames)).toBe(after.get(row.id)?.length);
  });

  it('writes frames past one statement (over 8 MB in a commit) in a transaction of several inserts', async () => {
    const state = new WriterState(open);
    const batch = new PendingWrites();
    for (const id of runIds()) {
      batch.addFrame(
        sessionOf(id),
        create(ImageFrameSchema, {
          step: 1n,
          images: [{ imageBytes: new Uint8Array(600_000).fill(7), width: 1, height: 1 }],
        }),
      );
    }
    await writeFlush(open, batch, state, KEEP_ALL);

    const frameClient = sent.find((s) => s.text.startsWith('insert into image_frames'))!.client;
    const onFrameClient = sent
      .filter((s) => s.client === frameClient)
      .map((s) => s.text.split(' (')[0]);
    // The pool may have lent the same connection for the retention plan's reads before.
    const texts = onFrameClient.slice(
      onFrameClient.findIndex((text) => text.toLowerCase() === 'begin'),
    );
    expect(texts[0]?.toLowerCase()).toBe('begin');
    expect(texts[texts.length - 1]?.toLowerCase()).toBe('commit');
    expect(
      texts.filter((text) => text.startsWith('insert into image_frames')).length,
    ).toBeGreaterThan(1);
    const stored = await storedSteps();
    expect([...stored.values()].map((steps) => steps.length)).toEqual(runIds().map(() => 1));
  });

  async function storedSteps(): Promise<Map<string, number[]>> {
    const rows = await open.db
      .selectFrom('image_frames')
      .select(['session_id', 'step'])
      .orderBy('session_id')
      .orderBy('step')
      .execute();
    const steps = new Map<string, number[]>();
    for (const row of rows) {
      const list = steps.get(row.session_id) ?? [];
      list.push(Number(row.step));
      steps.set(row.session_id, list);
    }
    return steps;
  }

  it('stores frame bytes out of line without a compression attempt (migration 0075)', async () => {
    const column = await sql<{ storage: string }>`
      select attstorage as storage from pg_attribute
      where attrelid = 'image_frames'::regclass and attname = 'frame'`.execute(open.db);
    expect(column.rows[0]?.storage).toBe('e');
  });

  it('fails the whole commit when the frame transaction fails (no points, no totals), and the retry stores every frame and point once', async () => {
    const state = new WriterState(open);
    // Every frame insert fails, as it would on a full disk or a lost connection.
    await sql`alter table image_frames add constraint frames_refused check (step < 0)`.execute(
      open.db,
    );
    const batch = batchOf(0);
    await expect(writeFlush(open, batch, state, KEEP_ALL)).rejects.toThrow(/frames_refused/);

    const points = () =>
      open.db
        .selectFrom('points')
        .select(({ fn }) => fn.countAll<number>().as('points'))
        .executeTakeFirstOrThrow();
    expect(Number((await points()).points)).toBe(0);
    const totalsBefore = await open.db
      .selectFrom('sessions')
      .select('stored_frames')
      .where('stored_frames', '>', 0)
      .execute();
    expect(totalsBefore).toEqual([]);

    await sql`alter table image_frames drop constraint frames_refused`.execute(open.db);
    // The store writer retries the same batch.
    await writeFlush(open, batch, state, KEEP_ALL);
    expect(Number((await points()).points)).toBe(RUNS * FRAMES_PER_RUN);
    const frames = await open.db
      .selectFrom('image_frames')
      .select(['session_id', 'step'])
      .orderBy('session_id')
      .orderBy('step')
      .execute();
    expect(frames).toHaveLength(RUNS * FRAMES_PER_RUN);
    const totals = await open.db.selectFrom('sessions').select('stored_frames').execute();
    expect(totals.map((row) => Number(row.stored_frames))).toEqual(
      runIds().map(() => FRAMES_PER_RUN),
    );
  });
});
