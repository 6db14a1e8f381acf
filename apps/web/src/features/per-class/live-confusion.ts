import type { ConfusionMatrix } from '@trainwatch/proto';

/** Epochs of matrices the browser holds from the watch stream (older ones: GetConfusionMatrix). */
export const LIVE_CONFUSION_EPOCHS = 4;
/**
 * The live matrix is redrawn at most this often. It changes with every batch
 * (up to 60 a second), and at 60 msg/s it was the page's biggest writer of
 * DOM changes (16 cell attributes and 18 texts a frame), each frame's changes
 * costing a layout of the whole page (~3 ms, Chromium trace).
 */
export const CONFUSION_REFRESH_MS = 250;

/** One epoch's matrix as the panel draws it: sparse cells and exact per-class rows. */
export interface ConfusionView {
  epoch: number;
  /** `truth` -> `predicted` -> count. */
  cells: Map<number, Map<number, number>>;
  /** `truth` -> predictions of it and how many were right. */
  rows: Map<number, { total: number; correct: number }>;
  predictions: number;
  uncounted: number;
}

/** A whole matrix (snapshot, GetConfusionMatrix) as a view. */
export function confusionView(matrix: ConfusionMatrix): ConfusionView {
  const view: ConfusionView = {
    epoch: matrix.epoch,
    cells: new Map(),
    rows: new Map(),
    predictions: 0,
    uncounted: 0,
  };
  addInto(view, matrix);
  return view;
}

function addInto(view: ConfusionView, matrix: ConfusionMatrix): void {
  matrix.truthClasses.forEach((truth, index) => {
    const predicted = matrix.predictedClasses[index] ?? 0;
    let row = view.cells.get(truth);
    if (row === undefined) view.cells.set(truth, (row = new Map()));
    row.set(predicted, (row.get(predicted) ?? 0) + Number(matrix.counts[index] ?? 0n));
  });
  matrix.rowClasses.forEach((truth, index) => {
    const row = view.rows.get(truth) ?? { total: 0, correct: 0 };
    row.total += Number(matrix.rowTotals[index] ?? 0n);
    row.correct += Number(matrix.rowCorrect[index] ?? 0n);
    view.rows.set(truth, row);
  });
  view.predictions += Number(matrix.predictions);
  view.uncounted += Number(matrix.uncounted);
}

/**
 * The confusion matrices of the newest epochs, kept live from the watch
 * stream: the snapshot's whole matrix, then each batch's increment added to
 * its epoch. Bounded to LIVE_CONFUSION_EPOCHS epochs.
 */
export class LiveConfusion {
  private readonly epochs = new Map<number, ConfusionView>();
  /** Bumped on every change, so views know when to redraw. */
  version = 0;

  put(matrix: ConfusionMatrix): void {
    this.version += 1;
    if (!matrix.increment) {
      this.keep(confusionView(matrix));
      return;
    }
    const held = this.epochs.get(matrix.epoch);
    if (held === undefined) this.keep(confusionView(matrix));
    else addInto(held, matrix);
  }

  get(epoch: number): ConfusionView | undefined {
    return this.epochs.get(epoch);
  }

  /** Epochs held, ascending. */
  epochNumbers(): number[] {
    return [...this.epochs.keys()].sort((a, b) => a - b);
  }

  private keep(view: ConfusionView): void {
    this.epochs.set(view.epoch, view);
    while (this.epochs.size > LIVE_CONFUSION_EPOCHS) {
      this.epochs.delete(Math.min(...this.epochs.keys()));
    }
  }
}
