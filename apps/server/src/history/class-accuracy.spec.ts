import { create } from '@bufbuild/protobuf';
import {
  BatchDataSchema,
  EpochDataSchema,
  SeriesKind,
  TrainingConfigSchema,
} from '@trainwatch/proto';
import { Session } from '../sessions/session';
import { addClassAccuracy, classAccuracyNames } from './class-accuracy';

function sessionWith(classNames: string[], truths: number[], predicted: number[]): Session {
  const session = new Session('s', 0, { lossHistoryPoints: 16, commandAuditSize: 4 });
  session.config = create(TrainingConfigSchema, { totalEpochs: 2, batchesPerEpoch: 4, classNames });
  session.confusion.count(
    create(BatchDataSchema, {
      epoch: 0,
      groundTruth: truths,
      predictions: predicted.map((predictedClass) => ({ predictedClass, confidence: 1 })),
    }),
  );
  return session;
}

const limits = { classAccuracyMaxClasses: 100, maxSeriesPerSession: 1000 };

describe('per-class accuracy series', () => {
  it('names each class as a valid series name, by index when empty or repeated', () => {
    expect(classAccuracyNames(['cat', 'big dog', '', 'big?dog', 'x'.repeat(200)], 6)).toEqual([
      'class_acc/cat',
      'class_acc/big_dog',
      'class_acc/2',
      'class_acc/3',
      `class_acc/${'x'.repeat(118)}`,
      'class_acc/5',
    ]);
  });

  it("adds each seen class's accuracy to the epoch, never over the trainer's own value", () => {
    const session = sessionWith(['cat', 'dog', 'fox'], [0, 1, 1, 1, 1], [0, 1, 2, 1, 1]);
    const epoch = create(EpochDataSchema, { epoch: 0, metrics: { 'class_acc/cat': 0.5 } });
    expect(addClassAccuracy(epoch, session, limits)).toBe(1);
    // fox was never the truth: no point for it.
    expect(epoch.metrics).toEqual({ 'class_acc/cat': 0.5, 'class_acc/dog': 0.75 });
  });

  it('adds nothing past the class bound, for an epoch not held, or when switched off', () => {
    const many = sessionWith(
      Array.from({ length: 101 }, (_, index) => `c${index}`),
      [0],
      [0],
    );
    expect(addClassAccuracy(create(EpochDataSchema, { epoch: 0 }), many, limits)).toBe(0);
    const few = sessionWith(['a', 'b'], [0], [0]);
    expect(addClassAccuracy(create(EpochDataSchema, { epoch: 1 }), few, limits)).toBe(0);
    expect(
      addClassAccuracy(create(EpochDataSchema, { epoch: 0 }), few, {
        ...limits,
        classAccuracyMaxClasses: 0,
      }),
    ).toBe(0);
  });

  it('stays within the series bound and skips a name logged per step', () => {
    const session = sessionWith(['a', 'b', 'c'], [0, 1, 2], [0, 1, 2]);
    session.series.add('class_acc/a', SeriesKind.STEP, 0n, 1, 0);
    const epoch = create(EpochDataSchema, { epoch: 0, metrics: { other: 1 } });
    // loss + class_acc/a + other leave room for one more series of four.
    expect(addClassAccuracy(epoch, session, { ...limits, maxSeriesPerSession: 4 })).toBe(1);
    expect(Object.keys(epoch.metrics).sort()).toEqual(['class_acc/b', 'other']);
  });
});
