import {
  SeriesKind,
  TrainingStatus,
  type EpochData,
  type WatchSessionResponse,
} from '@trainwatch/proto';
import { waitFor } from '@trainwatch/testing';
import { register, TrainerStreamClient } from './harness';
import { STORE_ENGINES } from './store-engines';
import { storedServerSuite } from './stored-server';

/** Every batch: truths cat, dog, fox, dog; one dog taken for a fox in batch 2 of each epoch. */
const TRUTH = [0, 1, 2, 1];
const config = {
  totalEpochs: 3,
  batchesPerEpoch: 10,
  batchSize: 4,
  classNames: ['cat', 'dog', 'fox'],
};
/** More classes than CLASS_ACCURACY_MAX_CLASSES (100 by default): no class_acc series. */
const manyClasses = {
  ...config,
  classNames: Array.from({ length: 150 }, (_, index) => `class ${index}`),
};

function sendEpoch(
  stream: TrainerStreamClient,
  first: bigint,
  epoch: number,
  batches: number,
): bigint {
  let sequence = first;
  for (let index = 0; index < batches; index++) {
    stream.batch(sequence, epoch, index, {
      predictions: TRUTH.map((truth, at) => ({
        predictedClass: at === 1 && index === 2 ? 2 : truth,
        confidence: 0.9,
      })),
      groundTruth: TRUTH,
    });
    sequence += 1n;
  }
  stream.send(sequence, {
    case: 'epochData',
    value: { epoch, averageLoss: 0.5, averageAccuracy: 0.9, metrics: { 'val/acc': 0.8 } },
  });
  return sequence;
}

function epochEvents(events: readonly WatchSessionResponse[]): EpochData[] {
  return events.flatMap((event) => (event.event.case === 'epoch' ? [event.event.value] : []));
}

const classAccOf = (metrics: Record<string, number>) =>
  Object.fromEntries(Object.entries(metrics).filter(([name]) => name.startsWith('class_acc/')));

/**
 * Per-class accuracy as epoch series `class_acc/<class>`: computed by the
 * server from the confusion matrix at each epoch's end, live on the watch
 * stream, in the snapshot, stored and queried after a restart; none for a
 * run with more classes than the bound. A healthy session streams throughout.
 */
describe.each(STORE_ENGINES)('per-class accuracy series on %s', (_name, makeFixture) => {
  const { start, stop, closers } = storedServerSuite(makeFixture());

  it('charts each class accuracy per epoch, live, in the snapshot and stored; not past the class bound', async () => {
    let clients = await start();
    const registered = await register(clients.telemetry, { sessionId: 'run-k', config });
    const watch = clients.web.watch('run-k');
    closers.push(() => watch.cancel());
    await waitFor(() => watch.events.length > 0, { timeoutMs: 5000 });
    const stream = new TrainerStreamClient(clients.telemetry, 'run-k', registered.resumeToken);
    closers.push(() => stream.end());
    stream.send(1n, { case: 'statusUpdate', value: { status: TrainingStatus.RUNNING } });
    let last = sendEpoch(stream, 2n, 0, 5);
    await stream.waitForAck(last);
    expect(stream.errors()).toEqual([]);

    // Live, at the epoch's end: dog was right 9 times of 10.
    const live = await waitFor(() => epochEvents(watch.events)[0], { timeoutMs: 5000 });
    expect(classAccOf(live.metrics)).toEqual({
      'class_acc/cat': 1,
      'class_acc/dog': 0.9,
      'class_acc/fox': 1,
    });
    expect(live.metrics['val/acc']).toBe(0.8);
    last = sendEpoch(stream, last + 1n, 1, 10);
    await stream.waitForAck(last);
    await waitFor(() => epochEvents(watch.events).length === 2, { timeoutMs: 5000 });
    expect(classAccOf(epochEvents(watch.events)[1]?.metrics ?? {})['class_acc/dog']).toBe(0.95);

    // A late joiner's snapshot has them as epoch series (x = epoch).
    const late = clients.grpc.watch('run-k');
    closers.push(() => late.cancel());
    await waitFor(() => late.events.length > 0, { timeoutMs: 5000 });
    const snapshot = late.events[0]?.event;
    const dog =
      snapshot?.case === 'snapshot'
        ? snapshot.value.series.find((series) => series.name === 'class_acc/dog')
        : undefined;
    expect(dog?.kind).toBe(SeriesKind.EPOCH);
    expect(dog?.steps).toEqual([0n, 1n]);
    expect(dog?.values).toEqual([0.9, 0.95]);

    // Past the bound: a 150-class run gets no class_acc series.
    const many = await register(clients.telemetry, { sessionId: 'run-many', config: manyClasses });
    const manyStream = new TrainerStreamClient(clients.telemetry, 'run-many', many.resumeToken);
    closers.push(() => manyStream.end());
    const manyLast = sendEpoch(manyStream, 1n, 0, 3);
    await manyStream.waitForAck(manyLast);
    const manyList = await clients.grpc.listSessions({ text: 'run-many' });
    // loss and val/acc only.
    expect(manyList.sessions[0]?.seriesCount).toBe(2);
    await clients.healthy.stillAcked();

    stream.end();
    await stream.waitForStatus();
    await stop();
    for (const close of closers.splice(0)) close();

    // After a restart: stored, over both bindings.
    clients = await start();
    for (const dashboard of [clients.grpc, clients.web]) {
      const answer = await dashboard.querySeries({
        sessionId: 'run-k',
        names: ['class_acc/cat', 'class_acc/dog', 'class_acc/fox'],
      });
      const byName = Object.fromEntries(answer.series.map((series) => [series.name, series]));
      expect(byName['class_acc/dog']?.lasts).toEqual([0.9, 0.95]);
      expect(byName['class_acc/dog']?.kind).toBe(SeriesKind.EPOCH);
      expect(byName['class_acc/cat']?.lasts).toEqual([1, 1]);
      expect(byName['class_acc/fox']?.steps).toEqual([0n, 1n]);
      const none = await dashboard.querySeries({ sessionId: 'run-many' });
      expect(none.series.map((series) => series.name).sort()).toEqual(['loss', 'val/acc']);
    }
    await clients.healthy.stillAcked();
  }, 60_000);
});
