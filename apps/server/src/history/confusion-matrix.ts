import { create } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { ConfusionMatrixSchema, type BatchData, type ConfusionMatrix } from '@trainwatch/proto';
import { CONFUSION_EPOCHS_IN_MEMORY, MAX_CONFUSION_CELLS } from '../common/limits';
import { insertSorted } from '../common/sorted-numbers';

interface Row {
  total: number;
  correct: number;
}

/** One true class's cells: counts by predicted class, and those classes in ascending order. */
interface CellRow {
  predicted: number[];
  counts: Map<number, number>;
}

/**
 * One epoch's confusion matrix, sparse: cells by true class then predicted
 * class, at most `maxCells` of them (a prediction whose cell is not kept
 * counts in its row and in `uncounted`), and exact per-class rows. Classes
 * are kept in ascending order as cells and rows appear (rarely: a class's
 * first prediction), so writing the matrix out sorts nothing.
 */
export class EpochConfusion {
  private readonly cells = new Map<number, CellRow>();
  /** True classes with cells, ascending. */
  private readonly cellTruths: number[] = [];
  private readonly rows = new Map<number, Row>();
  /** True classes with a row, ascending. */
  private readonly rowTruths: number[] = [];
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
    const cells = this.cells.get(truth);
    const count = cells?.counts.get(predicted);
    if (count !== undefined && cells !== undefined) {
      cells.counts.set(predicted, count + times);
      return true;
    }
    if (this.cellCount >= this.maxCells) {
      this.uncounted += times;
      return false;
    }
    this.newCell(truth, predicted, times);
    return true;
  }

  private newCell(truth: number, predicted: number, count: number): void {
    let cells = this.cells.get(truth);
    if (cells === undefined) {
      cells = { predicted: [], counts: new Map() };
      this.cells.set(truth, cells);
      insertSorted(this.cellTruths, truth);
    }
    if (!cells.counts.has(predicted)) {
      insertSorted(cells.predicted, predicted);
      this.cellCount += 1;
    }
    cells.counts.set(predicted, count);
  }

  /** Counts a prediction in its row only (its cell is not kept). */
  private addRowOnly(truth: number, predicted: number, times = 1): void {
    this.predictions += times;
    const row = this.rowOf(truth);
    row.total += times;
    if (truth === predicted) row.correct += times;
  }

  private rowOf(truth: number): Row {
    let row = this.rows.get(truth);
    if (row === undefined) {
      row = { total: 0, correct: 0 };
      this.rows.set(truth, row);
      insertSorted(this.rowTruths, truth);
    }
    return row;
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
    for (const truth of this.cellTruths) {
      const cells = this.cells.get(truth) as CellRow;
      for (const predicted of cells.predicted) {
        matrix.truthClasses.push(truth);
        matrix.predictedClasses.push(predicted);
        matrix.counts.push(BigInt(cells.counts.get(predicted) as number));
      }
    }
    for (const truth of this.rowTruths) {
      const row = this.rows.get(truth) as Row;
      matrix.rowClasses.push(truth);
      matrix.rowTotals.push(BigInt(row.total));
      matrix.rowCorrect.push(BigInt(row.correct));
    }
    return matrix;
  }

  /**
   * The whole matrix as ConfusionMatrix bytes, equal to
   * `toBinary(ConfusionMatrixSchema, this.toMessage())` but written straight
   * from the counts, without a message or a BigInt per count: the store
   * writes the matrix of every run that counted predictions on every commit,
   * and toMessage with toBinary took ~2.5% of a core at 40 trainers (CPU
   * profile).
   */
  toBytes(): Uint8Array {
    // Fields in number order, zeros and empty lists left out, repeated ones packed: as toBinary writes them.
    const writer = matrixWriter;
    if (this.epoch !== 0) writer.tag(1, WireType.Varint).int32(this.epoch);
    if (this.cellCount > 0) {
      writer.tag(2, WireType.LengthDelimited).fork();
      for (const truth of this.cellTruths) {
        const cells = this.cells.get(truth) as CellRow;
        for (let at = 0; at < cells.predicted.length; at++) writer.int32(truth);
      }
      writer.join().tag(3, WireType.LengthDelimited).fork();
      for (const truth of this.cellTruths) {
        for (const predicted of (this.cells.get(truth) as CellRow).predicted) {
          writer.int32(predicted);
        }
      }
      writer.join().tag(4, WireType.LengthDelimited).fork();
      for (const truth of this.cellTruths) {
        const cells = this.cells.get(truth) as CellRow;
        for (const predicted of cells.predicted) {
          uint64(writer, cells.counts.get(predicted) as number);
        }
      }
      writer.join();
    }
    if (this.rowTruths.length > 0) {
      writer.tag(5, WireType.LengthDelimited).fork();
      for (const truth of this.rowTruths) writer.int32(truth);
      writer.join().tag(6, WireType.LengthDelimited).fork();
      for (const truth of this.rowTruths) uint64(writer, (this.rows.get(truth) as Row).total);
      writer.join().tag(7, WireType.LengthDelimited).fork();
      for (const truth of this.rowTruths) uint64(writer, (this.rows.get(truth) as Row).correct);
      writer.join();
    }
    if (this.predictions !== 0) uint64(writer.tag(8, WireType.Varint), this.predictions);
    if (this.uncounted !== 0) uint64(writer.tag(9, WireType.Varint), this.uncounted);
    return writer.finish();
  }

  /** An epoch's matrix as stored (whole, not an increment). */
  static fromMessage(matrix: ConfusionMatrix, maxCells = MAX_CONFUSION_CELLS): EpochConfusion {
    const epoch = new EpochConfusion(matrix.epoch, maxCells);
    matrix.truthClasses.forEach((truth, index) => {
      epoch.newCell(truth, matrix.predictedClasses[index] ?? 0, Number(matrix.counts[index] ?? 0n));
    });
    matrix.rowClasses.forEach((truth, index) => {
      const row = epoch.rowOf(truth);
      row.total = Number(matrix.rowTotals[index] ?? 0n);
      row.correct = Number(matrix.rowCorrect[index] ?? 0n);
    });
    epoch.predictions = Number(matrix.predictions);
    epoch.uncounted = Number(matrix.uncounted);
    return epoch;
  }
}

/**
 * Writes every stored matrix, one at a time (toBytes is synchronous): its
 * buffer grows to the largest matrix once instead of from 128 bytes per call,
 * and `finish` copies out just the bytes written.
 */
const matrixWriter = new BinaryWriter();

/** A count as a uint64 varint: below 2^32 it is the uint32 varint, written without a BigInt. */
function uint64(writer: BinaryWriter, value: number): void {
  if (value <= 0xffffffff) writer.uint32(value);
  else writer.uint64(value);
}

/** One batch's counted pairs (scratch space reused by every batch; see scratchPairs). */
interface Pairs {
  truths: Int32Array;
  predicted: Int32Array;
  /** 1 when the epoch kept the pair's cell. */
  kept: Uint8Array;
  order: Int32Array;
}

let scratch: Pairs | undefined;

/** Scratch space for `size` pairs: counting runs on every batch, synchronously, one at a time. */
function scratchPairs(size: number): Pairs {
  if (scratch === undefined || scratch.truths.length < size) {
    const length = Math.max(size, 2 * (scratch?.truths.length ?? 32));
    scratch = {
      truths: new Int32Array(length),
      predicted: new Int32Array(length),
      kept: new Uint8Array(length),
      order: new Int32Array(length),
    };
  }
  return scratch;
}

/**
 * One batch's counted pairs as an increment message: cells (those the epoch
 * kept) by true then predicted class, rows by true class. Built straight
 * from the pairs, sorted once: a second sparse matrix per batch and its
 * `toMessage` were ~3% of the event loop at 50 trainers (CPU profile).
 */
function incrementOf(
  epoch: number,
  pairs: Pairs,
  count: number,
  uncounted: number,
): ConfusionMatrix {
  const { truths, predicted, kept } = pairs;
  const order = pairs.order.subarray(0, count);
  for (let index = 0; index < count; index++) order[index] = index;
  order.sort(
    (a, b) =>
      (truths[a] as number) - (truths[b] as number) ||
      (predicted[a] as number) - (predicted[b] as number),
  );
  const matrix = create(ConfusionMatrixSchema, {
    epoch,
    predictions: BigInt(count),
    uncounted: BigInt(uncounted),
    increment: true,
  });
  let cellCount = 0;
  let rowTotal = 0;
  let rowCorrect = 0;
  for (let at = 0; at < count; at++) {
    const index = order[at] as number;
    const truth = truths[index] as number;
    const guess = predicted[index] as number;
    if (kept[index] === 1) cellCount += 1;
    rowTotal += 1;
    if (truth === guess) rowCorrect += 1;
    const next = at + 1 < count ? (order[at + 1] as number) : -1;
    const sameRow = next >= 0 && truths[next] === truth;
    const sameCell = sameRow && predicted[next] === guess;
    if (!sameCell) {
      if (cellCount > 0) {
        matrix.truthClasses.push(truth);
        matrix.predictedClasses.push(guess);
        matrix.counts.push(BigInt(cellCount));
      }
      cellCount = 0;
    }
    if (!sameRow) {
      matrix.rowClasses.push(truth);
      matrix.rowTotals.push(BigInt(rowTotal));
      matrix.rowCorrect.push(BigInt(rowCorrect));
      rowTotal = 0;
      rowCorrect = 0;
    }
  }
  return matrix;
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
    const pairsOf = scratchPairs(pairs);
    let counted = 0;
    let uncounted = 0;
    for (let index = 0; index < pairs; index++) {
      const truth = batch.groundTruth[index] as number;
      const guess = (batch.predictions[index] as { predictedClass: number }).predictedClass;
      if (truth < 0 || guess < 0) continue;
      pairsOf.truths[counted] = truth;
      pairsOf.predicted[counted] = guess;
      // The increment carries only the cells the epoch kept, so a watcher adding it holds the same matrix.
      const kept = epoch.add(truth, guess);
      pairsOf.kept[counted] = kept ? 1 : 0;
      if (!kept) uncounted += 1;
      counted += 1;
    }
    if (counted === 0) return undefined;
    return incrementOf(batch.epoch, pairsOf, counted, uncounted);
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
