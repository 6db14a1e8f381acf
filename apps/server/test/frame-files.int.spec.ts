import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { HealthCheckResponse_ServingStatus as ServingStatus } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { ORPHAN_FRAMES_GRACE_MS } from '../src/common/limits';
import { FRAMES_FOLDER, openDatabase } from '../src/store/open-database';
import {
  grpcDashboard,
  healthCheck,
  makeJpeg,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
  unhealthyReason,
} from './harness';
import { POSTGRES_WITH_FRAMES_DIR, STORE_ENGINES, type TestStore } from './store-engines';

const SQLITE = STORE_ENGINES.find(([name]) => name === 'SQLite')!;

/** Where each engine's segment files are. */
const framesFolder = (env: Record<string, string>): string =>
  env['FRAMES_DIR'] ?? join(env['DATA_DIR'] as string, FRAMES_FOLDER);

/**
 * SQLite keeps image frames in segment files under DATA_DIR/frames, and
 * PostgreSQL does in FRAMES_DIR when it is set (frame-files.ts). What a user
 * relies on: a frame acknowledged is readable, also after a restart; a
 * folder that cannot be written holds acks like any store failure; deleting
 * a run deletes its frames.
 */
describe.each([SQLITE, POSTGRES_WITH_FRAMES_DIR])(
  'image frames in segment files (%s)',
  (_name, makeFixture) => {
    const fixture = makeFixture();
    let store: TestStore;
    let server: TestServer | undefined;
    const jpeg = makeJpeg(8, 8);

    beforeAll(() => fixture.setUp(), 60_000);
    afterAll(() => fixture.tearDown());
    beforeEach(async () => {
      store = await fixture.newStore();
    });
    afterEach(async () => {
      await server?.shutdown();
      server = undefined;
      store.remove();
    });

    const send = (stream: TrainerStreamClient, from: number, to: number) => {
      for (let index = from; index < to; index++) {
        stream.batch(BigInt(index + 1), 0, index, {
          images: [0, 1].map(() => ({ imageBytes: jpeg, format: 'jpeg', width: 8, height: 8 })),
          predictions: [{ predictedClass: 0 }, { predictedClass: 1 }],
          groundTruth: [0, index % 2],
        });
      }
    };

    /** A trainer's stream for a new run of two-image batches. */
    const trainer = async (on: TestServer, sessionId: string, batchesPerEpoch: number) => {
      const client = telemetryClient(on.grpcAddress);
      await register(client, {
        sessionId,
        config: { totalEpochs: 1, batchesPerEpoch, batchSize: 2, classNames: ['a', 'b'] },
      });
      return new TrainerStreamClient(client, sessionId);
    };

    it('holds acks while the frames folder cannot be written, then stores every frame once; frames read back after a restart; a deleted run leaves no files', async () => {
      const frames = framesFolder(store.env);
      server = await startTestServer(store.env);
      const stream = await trainer(server, 'run', 60);
      send(stream, 0, 20);
      await stream.waitForAck(20n);
      expect(readdirSync(frames)).toEqual(['run-run']);

      // The folder is replaced by a plain file: no segment can be opened or created.
      renameSync(frames, `${frames}.away`);
      writeFileSync(frames, 'not a folder');
      send(stream, 20, 40);
      const reason = await unhealthyReason(server.httpUrl, 'while frames cannot be written', {
        timeoutMs: 10_000,
      });
      expect(reason).toMatch(/^store: .*(ENOTDIR|EEXIST|not a directory)/i);
      expect(stream.acks().length).toBeLessThan(40);

      rmSync(frames);
      renameSync(`${frames}.away`, frames);
      send(stream, 40, 60);
      await stream.waitForAck(60n, 15_000);
      expect(stream.acks().map((ack) => ack.sequence)).toEqual(
        [...Array(60).keys()].map((index) => BigInt(index + 1)),
      );
      expect(stream.errors()).toEqual([]);
      await waitFor(
        async () => (await healthCheck(server!.grpcAddress)).status === ServingStatus.SERVING,
        {
          what: 'SERVING after the folder is back',
        },
      );
      stream.end();
      await server.shutdown();

      // A new server on the same store serves every frame the policy keeps (all 60: under 256 steps).
      server = await startTestServer(store.env);
      const dashboard = grpcDashboard(server.grpcAddress);
      try {
        const stored = await dashboard.getImageFrames({ sessionId: 'run', maxFrames: 64 });
        expect(stored.frameSteps).toEqual([...Array(60).keys()].map(BigInt));
        expect(stored.frames.map((frame) => frame.step)).toEqual(stored.frameSteps);
        for (const frame of stored.frames) {
          expect(frame.images.map((image) => image.imageBytes)).toEqual([jpeg, jpeg]);
          expect(frame.groundTruth).toEqual([0, Number(frame.step) % 2]);
        }
        await dashboard.deleteSession({ sessionId: 'run' });
        expect(existsSync(join(frames, 'run-run'))).toBe(false);
      } finally {
        dashboard.close();
      }
    });

    it('a segment file cut short loses only the frames it no longer holds: the others read back, the run still opens', async () => {
      const frames = framesFolder(store.env);
      server = await startTestServer(store.env);
      const stream = await trainer(server, 'cut', 60);
      send(stream, 0, 60);
      await stream.waitForAck(60n);
      stream.end();
      await server.shutdown();
      // A copy made wrong, or a disk that filled mid-file: the run's segment ends halfway.
      const folder = join(frames, 'run-cut');
      const [file] = readdirSync(folder)
        .map((name) => join(folder, name))
        .sort((a, b) => statSync(b).size - statSync(a).size);
      if (file === undefined) throw new Error(`no segment file in ${folder}`);
      truncateSync(file, Math.floor(statSync(file).size / 2));

      const warnings: string[] = [];
      const quiet = () => undefined;
      server = await startTestServer(store.env, {
        logger: {
          log: quiet,
          error: quiet,
          warn: (message: unknown) => warnings.push(String(message)),
        },
      });
      const dashboard = grpcDashboard(server.grpcAddress);
      try {
        const stored = await dashboard.getImageFrames({ sessionId: 'cut', maxFrames: 64 });
        expect(stored.frameSteps).toEqual([...Array(60).keys()].map(BigInt));
        // The frames past the cut are left out, the others come whole (before: INTERNAL for any window holding one).
        const steps = stored.frames.map((frame) => Number(frame.step));
        expect(steps.length).toBeGreaterThan(0);
        expect(steps.length).toBeLessThan(59);
        for (const frame of stored.frames) {
          expect(frame.images.map((image) => image.imageBytes)).toEqual([jpeg, jpeg]);
        }
        // The stored run opens (its latest frame is past the cut), with every batch.
        const watch = dashboard.watch('cut');
        try {
          await waitFor(() => watch.events.length > 0 || watch.error !== undefined, {
            what: "the stored run's snapshot",
          });
          expect(watch.error).toBeUndefined();
          const snapshot =
            watch.events[0]?.event.case === 'snapshot' ? watch.events[0].event.value : undefined;
          expect(snapshot?.session?.batchesReceived).toBe(60n);
        } finally {
          watch.cancel();
        }
        // The log names the file, once per damaged frame (read twice above: by the window and the snapshot).
        const named = warnings.filter((line) => line.includes(`of ${file}: the file ends after`));
        expect(named.length).toBe(60 - steps.length);
      } finally {
        dashboard.close();
      }
    });

    it('at start-up deletes the frames folders of runs the store no longer has, once untouched for a while', async () => {
      const frames = framesFolder(store.env);
      server = await startTestServer(store.env);
      const stream = await trainer(server, 'kept', 10);
      send(stream, 0, 3);
      await stream.waitForAck(3n);
      stream.end();
      await server.shutdown();
      server = undefined;
      // Left by a crash after a run's rows went, long ago; and one being written by a commit under way.
      const old = (Date.now() - 2 * ORPHAN_FRAMES_GRACE_MS) / 1000;
      for (const name of ['run-ghost', 'run-fresh']) {
        mkdirSync(join(frames, name));
        writeFileSync(join(frames, name, '0.seg'), jpeg);
      }
      for (const path of [
        join(frames, 'run-ghost', '0.seg'),
        join(frames, 'run-ghost'),
        ...readdirSync(join(frames, 'run-kept')).map((name) => join(frames, 'run-kept', name)),
        join(frames, 'run-kept'),
      ]) {
        utimesSync(path, old, old);
      }
      server = await startTestServer(store.env);
      await waitFor(() => !existsSync(join(frames, 'run-ghost')), {
        what: 'the orphaned folder deleted at start-up',
      });
      expect(readdirSync(frames).sort()).toEqual(['run-fresh', 'run-kept']);
      const dashboard = grpcDashboard(server.grpcAddress);
      try {
        const stored = await dashboard.getImageFrames({ sessionId: 'kept', maxFrames: 8 });
        expect(stored.frames.map((frame) => Number(frame.step))).toEqual([0, 1, 2]);
      } finally {
        dashboard.close();
      }
    });
  },
);

describe('a shared frames folder (PostgreSQL with FRAMES_DIR)', () => {
  const [, makeFixture] = POSTGRES_WITH_FRAMES_DIR;
  const fixture = makeFixture();
  let store: TestStore;

  beforeAll(() => fixture.setUp(), 60_000);
  afterAll(() => fixture.tearDown());
  beforeEach(async () => {
    store = await fixture.newStore();
  });
  afterEach(() => store.remove());

  it('gives every process that opens the store a writer number of its own; a folder it cannot write fails start-up with the reason', async () => {
    const url = store.env['DATABASE_URL'] as string;
    const framesDir = store.env['FRAMES_DIR'] as string;
    const opened = [
      await openDatabase({ engine: 'postgres', url, framesDir }),
      await openDatabase({ engine: 'postgres', url, framesDir }),
    ];
    try {
      const writers = opened.map((open) => open.frameFiles?.writer);
      expect(writers.every((writer) => writer !== undefined && writer > 0)).toBe(true);
      expect(new Set(writers).size).toBe(2);
    } finally {
      await Promise.all(opened.map((open) => open.close()));
    }
    const notAFolder = join(framesDir, 'file');
    writeFileSync(notAFolder, 'not a folder');
    await expect(openDatabase({ engine: 'postgres', url, framesDir: notAFolder })).rejects.toThrow(
      /^FRAMES_DIR .*file cannot be written: .*(EEXIST|ENOTDIR)/,
    );
  });

  it('switched on for a store that kept frames in rows: old and new frames read back; switched off again, reads name the setting', async () => {
    const jpeg = makeJpeg(8, 8);
    const inRows = { ...store.env };
    delete inRows['FRAMES_DIR'];
    const sendRange = async (env: Record<string, string>, from: number, to: number) => {
      const server = await startTestServer(env);
      try {
        const client = telemetryClient(server.grpcAddress);
        await register(client, {
          sessionId: 'moved',
          config: { totalEpochs: 1, batchesPerEpoch: 40, batchSize: 1, classNames: ['a', 'b'] },
        });
        const stream = new TrainerStreamClient(client, 'moved');
        for (let index = from; index < to; index++) {
          stream.batch(BigInt(index + 1), 0, index, {
            images: [{ imageBytes: jpeg, format: 'jpeg', width: 8, height: 8 }],
            predictions: [{ predictedClass: index % 2 }],
            groundTruth: [index % 2],
          });
        }
        await stream.waitForAck(BigInt(to));
        stream.end();
      } finally {
        await server.shutdown();
      }
    };
    await sendRange(inRows, 0, 20);
    await sendRange(store.env, 20, 40);
    const reader = await store.open();
    try {
      const rows = await reader.db
        .selectFrom('image_frames')
        .select(['step', 'file_writer'])
        .where('session_id', '=', 'moved')
        .orderBy('step')
        .execute();
      expect(rows.map((row) => row.file_writer === null)).toEqual(
        [...Array(40).keys()].map((step) => step < 20),
      );
    } finally {
      await reader.close();
    }
    let server = await startTestServer(store.env);
    let dashboard = grpcDashboard(server.grpcAddress);
    try {
      const frames = await dashboard.getImageFrames({ sessionId: 'moved', maxFrames: 64 });
      expect(frames.frames.map((frame) => Number(frame.step))).toEqual([...Array(40).keys()]);
      for (const frame of frames.frames) {
        expect(frame.images.map((image) => image.imageBytes)).toEqual([jpeg]);
        expect(frame.groundTruth).toEqual([Number(frame.step) % 2]);
      }
    } finally {
      dashboard.close();
      await server.shutdown();
    }
    server = await startTestServer(inRows);
    dashboard = grpcDashboard(server.grpcAddress);
    try {
      await expect(
        dashboard.getImageFrames({ sessionId: 'moved', fromStep: 20n, maxFrames: 8 }),
      ).rejects.toThrow(/segment files.*FRAMES_DIR/);
      // The run still opens, every point on its charts, without the picture it cannot read.
      const watch = dashboard.watch('moved');
      try {
        await waitFor(() => watch.events.length > 0 || watch.error !== undefined, {
          what: "the run's snapshot without its frames folder",
        });
        expect(watch.error).toBeUndefined();
        const snapshot =
          watch.events[0]?.event.case === 'snapshot' ? watch.events[0].event.value : undefined;
        expect(snapshot?.session?.batchesReceived).toBe(40n);
        expect(snapshot?.series.find((series) => series.name === 'loss')?.totalPoints).toBe(40n);
        expect(snapshot?.latestImages).toBeUndefined();
      } finally {
        watch.cancel();
      }
    } finally {
      dashboard.close();
      await server.shutdown();
    }
  });
});
