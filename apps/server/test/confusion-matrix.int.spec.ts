import { TrainingStatus, type ConfusionMatrix, type WatchSessionResponse } from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { makeJpeg, register, TrainerStreamClient } from './harness';
import { STORE_ENGINES } from './store-engines';
import { storedServerSuite } from './stored-server';

const jpeg = makeJpeg(8, 8);
const image = { imageBytes: jpeg, format: 'jpeg', width: 8, height: 8, channels: 3 };

/** Every batch: truths 0, 1, 2, 1; predicted 0, 2, 2, 1 (class 1 once taken for 2). */
const TRUTH = [0, 1, 2, 1];
const config = {
  totalEpochs: 3,
  batchesPerEpoch: 10,
  batchSize: 4,
  classNames: ['cat', 'dog', 'fox'],
};
const PREDICTED = [0, 2, 2, 1];

/** The matrix as `truth:predicted -> count` and per-class `[total, correct]`. */
function cellsOf(matrix: ConfusionMatrix | undefined) {
  const cells: Record<string, number> = {};
  const rows: Record<number, [number, number]> = {};
  matrix?.truthClasses.forEach((truth, index) => {
    cells[`${truth}:${matrix.predictedClasses[index]}`] = Number(matrix.counts[index]);
  });
  matrix?.rowClasses.forEach((truth, index) => {
    rows[truth] = [Number(matrix.rowTotals[index]), Number(matrix.rowCorrect[index])];
  });
  return { cells, rows, predictions: Number(matrix?.predictions ?? 0n) };
}

/** A watcher's matrix of `epoch`: the snapshot's, plus every increment since. */
function watchedMatrix(events: readonly WatchSessionResponse[], epoch: number) {
  const cells: Record<string, number> = {};
  const rows: Record<number, [number, number]> = {};
  let predictions = 0;
  const add = (matrix: ConfusionMatrix) => {
    if (matrix.epoch !== epoch) return;
    const one = cellsOf(matrix);
    for (const [key, count] of Object.entries(one.cells)) cells[key] = (cells[key] ?? 0) + count;
    for (const [key, [total, correct]] of Object.entries(one.rows)) {
      const row = rows[Number(key)] ?? [0, 0];
      rows[Number(key)] = [row[0] + total, row[1] + correct];
    }
    predictions += one.predictions;
  };
  for (const event of events) {
    if (event.event.case === 'snapshot' && event.event.value.confusion !== undefined)
      add(event.event.value.confusion);
    if (event.event.case === 'confusion') add(event.event.value);
  }
  return { cells, rows, predictions };
}

/**
 * The server counts a confusion matrix per epoch from every prediction and
 * ground truth: live to watchers as increments, in the snapshot, stored and
 * read back after a restart (a trainer that comes back keeps counting into
 * it), with image frames filterable by (truth, predicted) pair. A second
 * trainer streams throughout, unaffected.
 */
describe.each(STORE_ENGINES)('confusion matrices on %s', (_name, makeFixture) => {
  const { start, stop, closers } = storedServerSuite(makeFixture());

  /** Sends batches 0..count-1 of `epoch` from `firstSequence` on; returns the last sequence. */
  function sendBatches(
    stream: TrainerStreamClient,
    firstSequence: bigint,
    epoch: number,
    count: number,
  ): bigint {
    let sequence = firstSequence;
    for (let index = 0; index < count; index++) {
      stream.batch(sequence, epoch, index, {
        batchLoss: 0.5,
        images: TRUTH.map(() => image),
        // Only batch 2 of each epoch gets the wrong prediction (1 taken for 2).
        predictions: PREDICTED.map((predictedClass, at) => ({
          predictedClass: at === 1 && index !== 2 ? 1 : predictedClass,
          confidence: 0.9,
        })),
        groundTruth: TRUTH,
      });
      sequence += 1n;
    }
    return sequence - 1n;
  }

  it('counts every prediction per epoch, live and stored, and after a restart', async () => {
    let clients = await start();
    const registered = await register(clients.telemetry, { sessionId: 'run-c', config });
    const watch = clients.grpc.watch('run-c');
    closers.push(() => watch.cancel());
    await waitFor(() => watch.events.length > 0, { timeoutMs: 5000 });
    const stream = new TrainerStreamClient(clients.telemetry, 'run-c', registered.resumeToken);
    closers.push(() => stream.end());
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    // Epoch 0: batches 0-4; one of them (batch 2) has the wrong prediction.
    let last = sendBatches(stream, 2n, 0, 5);
    await stream.waitForAck(last);
    await clients.healthy.stillAcked();
    const wrongOnce = {
      cells: { '0:0': 5, '1:1': 9, '1:2': 1, '2:2': 5 },
      rows: { 0: [5, 5], 1: [10, 9], 2: [5, 5] },
      predictions: 20,
    };
    // Live: the increments a watcher got add up to the epoch's matrix.
    await waitFor(() => watchedMatrix(watch.events, 0).predictions === 20, { timeoutMs: 5000 });
    expect(watchedMatrix(watch.events, 0)).toEqual(wrongOnce);
    for (const dashboard of [clients.grpc, clients.web]) {
      const answer = await dashboard.getConfusionMatrix({ sessionId: 'run-c', epoch: 0 });
      expect(cellsOf(answer.matrix)).toEqual(wrongOnce);
      expect(answer.epochs).toEqual([0]);
    }
    // Epoch 1: three batches, every prediction right but batch 2's.
    last = sendBatches(stream, last + 1n, 1, 3);
    await stream.waitForAck(last);
    const epochOne = {
      cells: { '0:0': 3, '1:1': 5, '1:2': 1, '2:2': 3 },
      rows: { 0: [3, 3], 1: [6, 5], 2: [3, 3] },
      predictions: 12,
    };
    await waitFor(() => watchedMatrix(watch.events, 1).predictions === 12, { timeoutMs: 5000 });
    expect(watchedMatrix(watch.events, 1)).toEqual(epochOne);
    const latest = await clients.web.getConfusionMatrix({ sessionId: 'run-c' });
    expect(latest.matrix?.epoch).toBe(1);
    expect(latest.epochs).toEqual([0, 1]);
    // A late joiner's snapshot holds the latest epoch's matrix whole.
    const late = clients.web.watch('run-c');
    closers.push(() => late.cancel());
    await waitFor(() => late.events.length > 0, { timeoutMs: 5000 });
    const snapshot = late.events[0]?.event;
    expect(snapshot?.case).toBe('snapshot');
    if (snapshot?.case === 'snapshot') {
      expect(cellsOf(snapshot.value.confusion)).toEqual(epochOne);
      expect(snapshot.value.confusion?.increment).toBe(false);
    }
    // The frames of a (truth, predicted) pair: truth 1 taken for 2 happened at batch 2 of each epoch.
    const frames = await clients.grpc.getImageFrames({
      sessionId: 'run-c',
      truthClass: 1,
      predictedClass: 2,
      maxFrames: 8,
    });
    expect(frames.frameSteps).toEqual([2n, 12n]);
    expect(frames.frames.map((frame) => frame.step)).toEqual([2n, 12n]);
    const wrong = await clients.web.getImageFrames({ sessionId: 'run-c', wrongOnly: true });
    expect(wrong.frameSteps).toEqual([2n, 12n]);
    expect(wrong.framesScanned).toBe(8);
    const none = await clients.web.getImageFrames({
      sessionId: 'run-c',
      truthClass: 0,
      predictedClass: 2,
    });
    expect(none.frames).toEqual([]);
    await clients.healthy.stillAcked();

    stream.end();
    await stream.waitForStatus();
    await stop();
    for (const close of closers.splice(0)) close();

    // After a restart: read back from the store, over both bindings.
    clients = await start();
    for (const dashboard of [clients.grpc, clients.web]) {
      const zero = await dashboard.getConfusionMatrix({ sessionId: 'run-c', epoch: 0 });
      expect(cellsOf(zero.matrix)).toEqual(wrongOnce);
      expect(zero.epochs).toEqual([0, 1]);
    }
    const again = clients.grpc.watch('run-c');
    closers.push(() => again.cancel());
    await waitFor(() => again.events.length > 0, { timeoutMs: 5000 });
    const restored = again.events[0]?.event;
    expect(restored?.case === 'snapshot' && cellsOf(restored.value.confusion)).toEqual(epochOne);
    // The trainer comes back mid-epoch and keeps counting into the stored matrix.
    const resumed = await register(clients.telemetry, {
      sessionId: 'run-c',
      config,
      resumeToken: registered.resumeToken,
    });
    const back = new TrainerStreamClient(clients.telemetry, 'run-c', resumed.resumeToken);
    closers.push(() => back.end());
    const next = last + 1n;
    back.batch(next, 1, 3, {
      batchLoss: 0.4,
      images: TRUTH.map(() => image),
      predictions: PREDICTED.map((predictedClass) => ({ predictedClass, confidence: 0.9 })),
      groundTruth: TRUTH,
    });
    await back.waitForAck(next);
    await waitFor(() => watchedMatrix(again.events, 1).predictions === 16, { timeoutMs: 5000 });
    const after = await clients.web.getConfusionMatrix({ sessionId: 'run-c', epoch: 1 });
    expect(cellsOf(after.matrix)).toEqual({
      cells: { '0:0': 4, '1:1': 6, '1:2': 2, '2:2': 4 },
      rows: { 0: [4, 4], 1: [8, 6], 2: [4, 4] },
      predictions: 16,
    });
    expect(watchedMatrix(again.events, 1)).toEqual(cellsOf(after.matrix));
    await clients.healthy.stillAcked();
  }, 60_000);
});
