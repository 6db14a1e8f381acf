import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { grpcDashboard } from './harness';
import { RESUMING_TRAINER_IMAGE, ResumingTrainer } from './resuming-trainer';
import { POSTGRES_WITH_FRAMES_DIR, STORE_ENGINES, type TestStore } from './store-engines';

/** Messages in the run. */
const MESSAGES = 150;

describe.each([...STORE_ENGINES, POSTGRES_WITH_FRAMES_DIR])(
  'kill -9 of the server on %s',
  (_name, makeFixture) => {
    const fixture = makeFixture();
    let store: TestStore;
    let server: ServerProcess | undefined;
    let trainer: ResumingTrainer | undefined;

    beforeAll(() => fixture.setUp(), 60_000);
    afterAll(() => fixture.tearDown());
    afterEach(async () => {
      trainer?.stop();
      await server?.stop();
      store.remove();
    });

    it('every acknowledged message is stored exactly once and the unacknowledged ones arrive after the trainer reconnects', async () => {
      store = await fixture.newStore();
      server = await startServerProcess({ env: store.env });
      const address = server.grpcAddress;
      trainer = new ResumingTrainer(() => address, 'crash-run', MESSAGES);
      await trainer.start();
      await waitFor(() => trainer?.acked.size !== undefined && trainer.acked.size >= MESSAGES / 3, {
        what: 'a third of the run acknowledged',
      });
      await server.kill();
      const ackedBeforeKill = new Set(trainer.acked);
      await server.start();
      await waitFor(() => trainer?.acked.size === MESSAGES, {
        timeoutMs: 30_000,
        what: `all ${MESSAGES} messages acknowledged`,
      });

      const reader = await store.open();
      try {
        const rows = await reader.db
          .selectFrom('points')
          .innerJoin('series', 'series.id', 'points.series_id')
          .select(['series.name', 'points.step'])
          .where('series.session_id', '=', 'crash-run')
          .execute();
        for (const name of ['loss', 'accuracy', 'lr']) {
          const steps = rows
            .filter((row) => row.name === name)
            .map((row) => row.step)
            .sort((a, b) => a - b);
          // Every message once: nothing acknowledged before the kill lost, nothing doubled by the replay.
          expect(steps).toEqual([...Array(MESSAGES).keys()]);
        }
        for (const sequence of ackedBeforeKill)
          expect(Number(sequence)).toBeLessThanOrEqual(MESSAGES);
        const frames = await reader.db
          .selectFrom('image_frames')
          .select('step')
          .where('session_id', '=', 'crash-run')
          .execute();
        expect(frames.map((frame) => frame.step).sort((a, b) => a - b)).toEqual([
          ...Array(MESSAGES).keys(),
        ]);
        const session = await reader.db
          .selectFrom('sessions')
          .select('last_sequence')
          .where('id', '=', 'crash-run')
          .executeTakeFirstOrThrow();
        expect(session.last_sequence).toBe(MESSAGES);
      } finally {
        await reader.close();
      }
      // Every stored frame reads back whole (rows or segment files), its 16 images as sent.
      const dashboard = grpcDashboard(address);
      try {
        const steps: bigint[] = [];
        for (let from = 0n; from < BigInt(MESSAGES); from += 64n) {
          const page = await dashboard.getImageFrames({
            sessionId: 'crash-run',
            fromStep: from,
            toStep: from + 63n,
            maxFrames: 64,
          });
          for (const frame of page.frames) {
            steps.push(frame.step);
            expect(frame.images.map((image) => image.imageBytes)).toEqual(
              Array.from({ length: 16 }, () => RESUMING_TRAINER_IMAGE),
            );
          }
        }
        expect(steps).toEqual([...Array(MESSAGES).keys()].map(BigInt));
      } finally {
        dashboard.close();
      }
    }, 90_000);
  },
);
