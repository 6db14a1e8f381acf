import { create, toBinary } from '@bufbuild/protobuf';
import { BatchDataSchema, ConfusionMatrixSchema } from '@trainwatch/proto';
import { ConfusionHistory, EpochConfusion } from './confusion-matrix';

function batch(epoch: number, truth: number[], predicted: number[]) {
  return create(BatchDataSchema, {
    epoch,
    groundTruth: truth,
    predictions: predicted.map((predictedClass) => ({ predictedClass })),
  });
}

describe('ConfusionHistory', () => {
  it('counts pairs per epoch and returns each batch as an increment', () => {
    const history = new ConfusionHistory();
    const increment = history.count(batch(0, [0, 1, 1, -1], [0, 0, 1, 1]));
    expect(increment?.increment).toBe(true);
    expect(increment?.predictions).toBe(3n);
    history.count(batch(0, [1], [0]));
    const matrix = history.get(0)?.toMessage();
    expect(matrix?.truthClasses).toEqual([0, 1, 1]);
    expect(matrix?.predictedClasses).toEqual([0, 0, 1]);
    expect(matrix?.counts).toEqual([1n, 2n, 1n]);
    expect(matrix?.rowClasses).toEqual([0, 1]);
    expect(matrix?.rowTotals).toEqual([1n, 3n]);
    expect(matrix?.rowCorrect).toEqual([1n, 1n]);
    expect(history.count(batch(0, [], []))).toBeUndefined();
  });

  it('increments added up are the epoch matrix, cell bound included (random batches)', () => {
    let seed = 11;
    const random = (below: number) => (seed = (seed * 16807) % 2147483647) % below;
    const history = new ConfusionHistory(4, 30);
    const cells = new Map<string, bigint>();
    const rows = new Map<number, [bigint, bigint]>();
    let predictions = 0n;
    let uncounted = 0n;
    for (let index = 0; index < 300; index++) {
      const size = 1 + random(20);
      const truth = Array.from({ length: size }, () => random(12) - 1);
      const predicted = truth.map((label) => (random(3) === 0 ? label : random(12) - 1));
      const increment = history.count(batch(0, truth, predicted));
      if (increment === undefined) continue;
      // Sorted as the stored matrix is, so a watcher can merge it in order.
      const keys = increment.truthClasses.map((t, at) => [t, increment.predictedClasses[at]!]);
      expect(keys).toEqual([...keys].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
      increment.truthClasses.forEach((t, at) => {
        const key = `${t},${increment.predictedClasses[at]}`;
        cells.set(key, (cells.get(key) ?? 0n) + increment.counts[at]!);
      });
      increment.rowClasses.forEach((t, at) => {
        const [total, correct] = rows.get(t) ?? [0n, 0n];
        rows.set(t, [total + increment.rowTotals[at]!, correct + increment.rowCorrect[at]!]);
      });
      predictions += increment.predictions;
      uncounted += increment.uncounted;
    }
    const matrix = history.get(0)!.toMessage();
    expect(matrix.counts.length).toBe(30);
    expect(matrix.uncounted).toBeGreaterThan(0n);
    expect(
      new Map(
        matrix.truthClasses.map((t, at) => [
          `${t},${matrix.predictedClasses[at]}`,
          matrix.counts[at],
        ]),
      ),
    ).toEqual(cells);
    expect(
      new Map(matrix.rowClasses.map((t, at) => [t, [matrix.rowTotals[at], matrix.rowCorrect[at]]])),
    ).toEqual(rows);
    expect(matrix.predictions).toBe(predictions);
    expect(matrix.uncounted).toBe(uncounted);
  });

  it('writes the stored bytes toBinary writes for the same matrix (random epochs, the cell bound, counts past 2^32)', () => {
    const bytesOf = (epoch: EpochConfusion) => toBinary(ConfusionMatrixSchema, epoch.toMessage());
    expect(new EpochConfusion(0).toBytes()).toEqual(bytesOf(new EpochConfusion(0)));
    let seed = 5;
    const random = (below: number) => (seed = (seed * 16807) % 2147483647) % below;
    for (let round = 0; round < 20; round++) {
      const epoch = round === 0 ? 0 : random(1_000_000);
      const history = new ConfusionHistory(4, 1 + random(60));
      for (let index = 0; index < 1 + random(40); index++) {
        const truth = Array.from({ length: 1 + random(30) }, () => random(300));
        history.count(
          batch(
            epoch,
            truth,
            truth.map((label) => (random(4) === 0 ? label : random(300))),
          ),
        );
      }
      const held = history.get(epoch)!;
      expect(held.toBytes()).toEqual(bytesOf(held));
    }
    const large = EpochConfusion.fromMessage(
      create(ConfusionMatrixSchema, {
        epoch: 3,
        truthClasses: [1, 2],
        predictedClasses: [0, 2],
        counts: [5_000_000_000n, 7n],
        rowClasses: [1, 2],
        rowTotals: [5_000_000_000n, 9n],
        rowCorrect: [0n, 7n],
        predictions: 5_000_000_009n,
        uncounted: 2n,
      }),
    );
    expect(large.toBytes()).toEqual(bytesOf(large));
  });

  it('keeps at most maxCells cells; the rest count in rows and uncounted', () => {
    // 10,000 classes, every prediction wrong in a new cell: the cell bound holds, rows stay exact.
    const history = new ConfusionHistory(4, 100);
    const truth = Array.from({ length: 10_000 }, (_, index) => index);
    const increment = history.count(
      batch(
        0,
        truth,
        truth.map((index) => (index + 1) % 10_000),
      ),
    );
    const matrix = history.get(0)?.toMessage();
    expect(matrix?.counts.length).toBe(100);
    expect(matrix?.uncounted).toBe(9900n);
    expect(matrix?.rowClasses.length).toBe(10_000);
    expect(increment?.counts.length).toBe(100);
    expect(increment?.uncounted).toBe(9900n);
    expect(increment?.predictions).toBe(10_000n);
  });

  it('holds the newest epochs only, and round-trips a stored matrix', () => {
    const history = new ConfusionHistory(2);
    for (const epoch of [0, 1, 2]) history.count(batch(epoch, [epoch], [epoch]));
    expect(history.epochNumbers()).toEqual([1, 2]);
    const stored = history.get(2)?.toMessage();
    const restored = new ConfusionHistory();
    if (stored !== undefined) restored.restore(stored);
    restored.count(batch(2, [2], [1]));
    expect(EpochConfusion.fromMessage(restored.latest()!.toMessage()).accuracies()).toEqual(
      new Map([[2, 0.5]]),
    );
  });
});
