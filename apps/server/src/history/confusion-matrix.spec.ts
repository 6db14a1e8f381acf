import { create } from '@bufbuild/protobuf';
import { BatchDataSchema } from '@trainwatch/proto';
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
