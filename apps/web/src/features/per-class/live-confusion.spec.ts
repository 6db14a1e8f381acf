import { create } from '@bufbuild/protobuf';
import { ConfusionMatrixSchema } from '@trainwatch/proto';
import { LIVE_CONFUSION_EPOCHS, LiveConfusion } from './live-confusion';

const matrix = (epoch: number, increment: boolean, count: bigint) =>
  create(ConfusionMatrixSchema, {
    epoch,
    increment,
    truthClasses: [0, 1],
    predictedClasses: [0, 0],
    counts: [count, count],
    rowClasses: [0, 1],
    rowTotals: [count, count],
    rowCorrect: [count, 0n],
    predictions: 2n * count,
  });

describe('LiveConfusion', () => {
  it('adds increments to the snapshot matrix of their epoch', () => {
    const live = new LiveConfusion();
    live.put(matrix(3, false, 5n));
    live.put(matrix(3, true, 1n));
    const view = live.get(3);
    expect(view?.cells.get(1)?.get(0)).toBe(6);
    expect(view?.rows.get(0)).toEqual({ total: 6, correct: 6 });
    expect(view?.predictions).toBe(12);
    // A whole matrix replaces what was held.
    live.put(matrix(3, false, 2n));
    expect(live.get(3)?.predictions).toBe(4);
  });

  it('keeps only the newest epochs', () => {
    const live = new LiveConfusion();
    for (let epoch = 0; epoch < LIVE_CONFUSION_EPOCHS + 2; epoch++)
      live.put(matrix(epoch, true, 1n));
    expect(live.epochNumbers()).toEqual([2, 3, 4, 5]);
  });
});
