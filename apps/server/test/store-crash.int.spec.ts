import { startServerProcess, waitFor, type ServerProcess } from '@trainwatch/testing';
import { ResumingTrainer } from './resuming-trainer';
import { STORE_ENGINES, type TestStore } from './store-engines';

/** Messages in the run. */
const MESSAGES = 150;

describe.each(STORE_ENGINES)('kill -9 of the server on %s', (_name, makeFixture) => {
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
  }, 90_000);
});
