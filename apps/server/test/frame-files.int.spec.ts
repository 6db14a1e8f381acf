import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HealthCheckResponse_ServingStatus as ServingStatus } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { FRAMES_FOLDER } from '../src/store/open-database';
import {
  grpcDashboard,
  healthCheck,
  makeJpeg,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type TestServer,
} from './harness';
import { STORE_ENGINES, type TestStore } from './store-engines';

const [, sqliteFixture] = STORE_ENGINES.find(([name]) => name === 'SQLite')!;

/**
 * SQLite keeps image frames in segment files under DATA_DIR/frames
 * (frame-files.ts). What a user relies on: a frame acknowledged is readable,
 * also after a restart; a folder that cannot be written holds acks like any
 * store failure; deleting a run deletes its frames.
 */
describe('image frames in segment files (SQLite)', () => {
  const fixture = sqliteFixture();
  let store: TestStore;
  let server: TestServer | undefined;
  const jpeg = makeJpeg(8, 8);

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

  it('holds acks while the frames folder cannot be written, then stores every frame once; frames read back after a restart; a deleted run leaves no files', async () => {
    const dataDir = store.env['DATA_DIR'] as string;
    const frames = join(dataDir, FRAMES_FOLDER);
    server = await startTestServer(store.env);
    const client = telemetryClient(server.grpcAddress);
    await register(client, {
      sessionId: 'run',
      config: { totalEpochs: 1, batchesPerEpoch: 60, batchSize: 2, classNames: ['a', 'b'] },
    });
    const stream = new TrainerStreamClient(client, 'run');
    send(stream, 0, 20);
    await stream.waitForAck(20n);
    expect(readdirSync(frames)).toEqual(['run-run']);

    // The folder is replaced by a plain file: no segment can be opened or created.
    renameSync(frames, `${frames}.away`);
    writeFileSync(frames, 'not a folder');
    send(stream, 20, 40);
    const reason = await waitFor(
      async () => {
        const response = await fetch(`${server!.httpUrl}/healthz`);
        return response.status === 503
          ? ((await response.json()) as { reason?: string }).reason
          : undefined;
      },
      { timeoutMs: 10_000, what: '/healthz 503 while frames cannot be written' },
    );
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
});
