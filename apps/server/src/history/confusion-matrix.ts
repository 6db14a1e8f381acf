import { create } from '@bufbuild/protobuf';
import { ConfusionMatrixSchema, type BatchData, type ConfusionMatrix } from '@trainwatch/proto';
import { CONFUSION_EPOCHS_IN_MEMORY, MAX_CONFUSION_CELLS } from '../common/limits';

interface Row {
  total: number;
  correct: number;
}

/**
 * One epoch's confusion matrix, sparse: cells by true class then predicted
 * class, at most `maxCells` of them (a prediction whose cell is not kept
 * counts in its row and in `uncounted`), and exact per-class rows.
 */
export class EpochConfusion {
  private readonly cells = new Map<number, Map<number, number>>();
  private readonly rows = new Map<number, Row>();
  private cellCount = 0;
  predictions = 0;
  uncounted = 0;

  constructor(
    readonly epoch: number,
    private readonly maxCells = MAX_CONFUSION_CELLS,
  ) {}

  /** Counts one prediction; true when its cell is kept. */
  add(truth: number, predicted: number, times = 1): boolean {
    this.addRowOnly(truth, predicted, times);
    let cells = this.cells.get(truth);
    const count = cells?.get(predicted);
    if (count !== undefined && cells !== undefined) {
      cells.set(predicted, count + times);
      return true;
    }
    if (this.cellCount >= this.maxCells) {
      this.uncounted += times;
      return false;
    }
    if (cells === undefined) this.cells.set(truth, (cells = new Map()));
    cells.set(predicted, times);
    this.cellCount += 1;
    return true;
  }

  /** Counts a prediction in its row only (its cell is not kept). */
  addRowOnly(truth: number, predicted: number, times = 1): void {
    this.predictions += times;
    let row = this.rows.get(truth);
    if (row === undefined) this.rows.set(truth, (row = { total: 0, correct: 0 }));
    row.total += times;
    if (truth === predicted) row.correct += times;
  }

  /** Accuracy of each true class seen: correct / total. */
  accuracies(): Map<number, number> {
    const result = new Map<number, number>();
    for (const [truth, row] of this.rows) result.set(truth, row.correct / row.total);
    return result;
  }

  toMessage(): ConfusionMatrix {
    const matrix = create(ConfusionMatrixSchema, {
      epoch: this.epoch,
      predictions: BigInt(this.predictions),
      uncounted: BigInt(this.uncounted),
    });
    for (const truth of [...this.cells.keys()].sort((a, b) => a - b)) {
      const cells = this.cells.get(truth) as Map<number, number>;
      for (const predicted of [...cells.keys()].sort((a, b) => a - b)) {
        matrix.truthClasses.push(truth);
        matrix.predictedClasses.push(predicted);
        matrix.counts.push(BigInt(cells.get(predicted) as number));
      }
    }
    for (const truth of [...this.rows.keys()].sort((a, b) => a - b)) {
      const row = this.rows.get(truth) as Row;
      matrix.rowClasses.push(truth);
      matrix.rowTotals.push(BigInt(row.total));
      matrix.rowCorrect.push(BigInt(row.correct));
    }
    return matrix;
  }

  /** An epoch's matrix as stored (whole, not an increment). */
  static fromMessage(matrix: ConfusionMatrix, maxCells = MAX_CONFUSION_CELLS): EpochConfusion {
    const epoch = new EpochConfusion(matrix.epoch, maxCells);
    matrix.truthClasses.forEach((truth, index) => {
      const predicted = matrix.predictedClasses[index] ?? 0;
      const count = Number(matrix.counts[index] ?? 0n);
      let cells = epoch.cells.get(truth);
      if (cells === undefined) epoch.cells.set(truth, (cells = new Map()));
      cells.set(predicted, count);
      epoch.cellCount += 1;
    });
    matrix.rowClasses.forEach((truth, index) => {
      epoch.rows.set(truth, {
        total: Number(matrix.rowTotals[index] ?? 0n),
        correct: Number(matrix.rowCorrect[index] ?? 0n),
      });
    });
    epoch.predictions = Number(matrix.predictions);
    epoch.uncounted = Number(matrix.uncounted);
    return epoch;
  }
}

/**
 * A session's confusion matrices: the newest CONFUSION_EPOCHS_IN_MEMORY
 * epochs in memory (the store keeps every epoch), counted from each
 * applied batch's predictions and ground truth.
 */
export class ConfusionHistory {
  private readonly epochs = new Map<number, EpochConfusion>();

  constructor(
    private readonly maxEpochs = CONFUSION_EPOCHS_IN_MEMORY,
    private readonly maxCells = MAX_CONFUSION_CELLS,
  ) {}

  /**
   * Counts a batch's (ground truth, prediction) pairs into its epoch; returns
   * what it added as an increment, or undefined when it had no pairs.
   * Pairs with a negative class are not counted.
   */
  count(batch: BatchData): ConfusionMatrix | undefined {
    const pairs = Math.min(batch.predictions.length, batch.groundTruth.length);
    if (pairs === 0) return undefined;
    const epoch = this.epochOrNew(batch.epoch);
    const added = new EpochConfusion(batch.epoch, Number.MAX_SAFE_INTEGER);
    let uncounted = 0;
    for (let index = 0; index < pairs; index++) {
      const truth = batch.groundTruth[index] as number;
      const predicted = (batch.predictions[index] as { predictedClass: number }).predictedClass;
      if (truth < 0 || predicted < 0) continue;
      // The increment carries only the cells the epoch kept, so a watcher adding it holds the same matrix.
      if (epoch.add(truth, predicted)) added.add(truth, predicted);
      else {
        uncounted += 1;
        added.addRowOnly(truth, predicted);
      }
    }
    if (added.predictions === 0) return undefined;
    const increment = added.toMessage();
    increment.uncounted = BigInt(uncounted);
    increment.increment = true;
    return increment;
  }

  /** The epoch's matrix when held in memory. */
  get(epoch: number): EpochConfusion | undefined {
    return this.epochs.get(epoch);
  }

  /** The newest epoch held, if any. */
  latest(): EpochConfusion | undefined {
    let newest: EpochConfusion | undefined;
    for (const epoch of this.epochs.values()) {
      if (newest === undefined || epoch.epoch > newest.epoch) newest = epoch;
    }
    return newest;
  }

  /** Epochs held in memory, ascending. */
  epochNumbers(): number[] {
    return [...this.epochs.keys()].sort((a, b) => a - b);
  }

  /** Puts back a stored epoch (a restored session). */
  restore(matrix: ConfusionMatrix): void {
    this.keep(EpochConfusion.fromMessage(matrix, this.maxCells));
  }

  private epochOrNew(epoch: number): EpochConfusion {
    const held = this.epochs.get(epoch);
    if (held !== undefined) return held;
    const created = new EpochConfusion(epoch, this.maxCells);
    this.keep(created);
    return created;
  }

  private keep(epoch: EpochConfusion): void {
    this.epochs.set(epoch.epoch, epoch);
    while (this.epochs.size > this.maxEpochs) {
      const oldest = Math.min(...this.epochs.keys());
      this.epochs.delete(oldest);
    }
  }
}
