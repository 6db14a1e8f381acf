import { create, equals } from '@bufbuild/protobuf';
import { ImageFrameSchema } from '@trainwatch/proto';
import { openDatabase, type OpenDatabase } from '../src/store/open-database';
import { framesToDrop, type RetentionPolicy } from '../src/store/image-retention';
import { PendingWrites } from '../src/store/pending-writes';
import { StoreReads } from '../src/store/store-reads';
import { SharedSlabPool } from '../src/store/shared-frame-memory';
import { WriterState, writeFlush } from '../src/store/write-flush';
import type { Session } from '../src/sessions/session';
import {
  insertBareSessions,
  POSTGRES_WITH_FRAMES_DIR,
  STORE_ENGINES,
  type StoreEngineFixture,
  type TestStore,
} from './store-engines';

/** Small enough that thinning starts after a few commits. */
const POLICY: RetentionPolicy = { recentSteps: 4, budgetBytes: 1_000_000_000 };
const FRAMES_PER_COMMIT = 3;
const COMMITS = 12;

/** A second run with the same steps that stops sending half-way: its frames stop being thinned. */
const OTHER_RUN_COMMITS = COMMITS / 2;

/**
 * The retention policy applied commit by commit, through the prepared
 * statements every commit runs (frame inserts, deletions of thinned
 * frames, the run's frame totals), on both engines. Two runs share each
 * commit, so statements that cover every run of a commit must keep them
 * apart: the second run holds steps the first one drops.
 */
describe.each([...STORE_ENGINES, POSTGRES_WITH_FRAMES_DIR])(
  'frame retention across commits (%s)',
  (_name, fixture) => {
    const engine: StoreEngineFixture = fixture();
    let store: TestStore;
    let open: OpenDatabase;
    beforeAll(() => engine.setUp());
    afterAll(() => engine.tearDown());
    beforeEach(async () => {
      store = await engine.newStore();
      open = await store.open();
      await insertBareSessions(open, ['run', 'other']);
    });
    afterEach(async () => {
      await open.close();
      store.remove();
    });

    const frame = (step: number, imageBytes: number) =>
      create(ImageFrameSchema, {
        step: BigInt(step),
        batchIdx: step,
        images: [
          {
            imageBytes: Uint8Array.from({ length: imageBytes }, (_, at) => (at + step) & 0xff),
            width: 1,
            height: 1,
          },
        ],
      });

    /** The steps the policy keeps of `steps` sent in order, and those it drops. */
    const keptOf = (steps: readonly number[]) => {
      const all = steps.map((step) => ({ step, bytes: 1 }));
      const dropped = new Set(framesToDrop(all, POLICY).map((stored) => stored.step));
      return { dropped, expected: steps.filter((step) => !dropped.has(step)) };
    };

    /** A run's stored frames (steps ascending, their bytes) and the totals its row holds. */
    const storedFrames = async (open: OpenDatabase, sessionId: string) => {
      const rows = await open.db
        .selectFrom('image_frames')
        .select(['step', 'bytes'])
        .where('session_id', '=', sessionId)
        .orderBy('step')
        .execute();
      const run = await open.db
        .selectFrom('sessions')
        .select(['stored_frames', 'stored_image_bytes'])
        .where('id', '=', sessionId)
        .executeTakeFirstOrThrow();
      return {
        rows,
        steps: rows.map((row) => Number(row.step)),
        bytes: rows.reduce((sum, row) => sum + Number(row.bytes), 0),
        totals: { frames: Number(run.stored_frames), bytes: Number(run.stored_image_bytes) },
      };
    };

    const scenario = async (open: OpenDatabase) => {
      const state = new WriterState(open);
      const session = { id: 'run' } as Session;
      const other = { id: 'other' } as Session;
      const steps: number[] = [];
      const slabs = new SharedSlabPool();
      for (let commit = 0; commit < COMMITS; commit++) {
        // As the store writer does: frames in shared memory when the write thread commits, the
        // memory of each committed batch reused by the next (its frames overwritten).
        const batch = new PendingWrites(
          open.writeThread !== undefined ? slabs.memory() : undefined,
        );
        for (let index = 0; index < FRAMES_PER_COMMIT; index++) {
          const step = commit * FRAMES_PER_COMMIT + index;
          steps.push(step);
          batch.addFrame(session, frame(step, 100));
          if (commit < OTHER_RUN_COMMITS) batch.addFrame(other, frame(step, 100));
        }
        // The newest stored step sent again (a trainer's replay): replaces the stored one.
        if (commit === COMMITS - 1) batch.addFrame(session, frame(steps.at(-4) as number, 300));
        await writeFlush(open, batch, state, POLICY);
        batch.settle();
      }
      if (open.writeThread !== undefined) expect(slabs.pooled).toBe(1);
      // A frame dropped once is never wanted again: the result is the policy over every step at once.
      const { dropped, expected } = keptOf(steps);
      expect(dropped.size).toBeGreaterThan(0);
      const run = await storedFrames(open, 'run');
      expect(run.steps).toEqual(expected);
      const resent = run.rows.find((row) => Number(row.step) === steps.at(-4));
      expect(Number(resent?.bytes)).toBeGreaterThan(300);
      expect(run.totals).toEqual({ frames: expected.length, bytes: run.bytes });
      // The second run: the policy over its own steps, whatever the first run dropped at the same steps.
      const otherKept = keptOf(steps.slice(0, OTHER_RUN_COMMITS * FRAMES_PER_COMMIT)).expected;
      expect(otherKept.some((step) => dropped.has(step))).toBe(true);
      const otherRun = await storedFrames(open, 'other');
      expect(otherRun.steps).toEqual(otherKept);
      expect(otherRun.totals).toEqual({ frames: otherKept.length, bytes: otherRun.bytes });
      // The stored bytes are the frame as sent (the re-sent step's new images).
      const reads = new StoreReads(open.db, open.frameFiles);
      const [stored] = await reads.framesAt('run', [steps.at(-4) as number]);
      expect(equals(ImageFrameSchema, stored!, frame(steps.at(-4) as number, 300))).toBe(true);
      // Every kept frame reads back as sent, though later batches wrote over the memory it came from.
      const storedRows = await open.db
        .selectFrom('image_frames')
        .select(['step', 'frame', 'file_segment'])
        .where('session_id', '=', 'run')
        .execute();
      // With the write thread, or PostgreSQL with FRAMES_DIR, the bytes are in segment files (frame-files.ts).
      const inFiles =
        open.writeThread !== undefined ||
        (open.engine === 'postgres' && open.frameFiles !== undefined);
      expect(inFiles).toBe(
        open.writeThread !== undefined || engine.name === 'PostgreSQL with FRAMES_DIR',
      );
      for (const row of storedRows) {
        expect(row.file_segment !== null).toBe(inFiles);
        expect(row.frame.byteLength === 0).toBe(inFiles);
      }
      const frames = await reads.framesAt(
        'run',
        storedRows.map((row) => Number(row.step)),
      );
      expect(frames).toHaveLength(storedRows.length);
      for (const read of frames) {
        const step = Number(read.step);
        const sent = frame(step, step === steps.at(-4) ? 300 : 100);
        expect(equals(ImageFrameSchema, read, sent)).toBe(true);
      }
    };

    it('keeps exactly the frames the policy keeps over the whole run, a re-sent step once with its new bytes, and the run totals', () =>
      scenario(open));

    it('does the same with commits run on the write thread (SQLite)', async () => {
      if (engine.name !== 'SQLite') return;
      const threaded = await openDatabase({
        engine: 'sqlite',
        dataDir: store.env.DATA_DIR as string,
        writeThread: true,
      });
      try {
        expect(threaded.writeThread).toBeDefined();
        await scenario(threaded);
      } finally {
        await threaded.close();
      }
    });
  },
);
