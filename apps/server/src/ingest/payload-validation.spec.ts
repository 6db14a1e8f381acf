import { create } from '@bufbuild/protobuf';
import {
  BatchDataSchema,
  EpochDataSchema,
  ErrorCode,
  StatusUpdateSchema,
  TrainingStatus,
  PerformanceDataSchema,
  TrainingConfigSchema,
} from '@trainwatch/proto';
import { MAX_PREDICTED_LABEL_LENGTH } from '../common/limits';
import { Session } from '../sessions/session';
import {
  validateBatch,
  validateEpoch,
  validatePerformance,
  validateStatus,
} from './payload-validation';

const limits = { maxImagesPerBatch: 2, maxImageDimension: 64 };
const session = () => new Session('s', 0, { lossHistoryPoints: 100, commandAuditSize: 10 });
/** The smallest whole JPEG structure: SOI, a frame header of `width`x`height`, a scan, EOI. */
const tinyJpeg = (width: number, height: number) =>
  new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xc0,
    0x00,
    0x0b,
    0x08,
    0x00,
    height,
    0x00,
    width,
    0x01,
    0x01,
    0x11,
    0x00,
    0xff,
    0xda,
    0x00,
    0x08,
    0x01,
    0x01,
    0x00,
    0x00,
    0x3f,
    0x00,
    0x12,
    0x34,
    0xff,
    0xd9,
  ]);
const batch = (init: Parameters<typeof create<typeof BatchDataSchema>>[1]) =>
  create(BatchDataSchema, { batchLoss: 1, ...init });

describe('payload validation', () => {
  it('accepts exactly max images and rejects one more (predictions count too)', () => {
    const jpeg = tinyJpeg(16, 16);
    const image = { imageBytes: jpeg, format: 'jpeg', width: 16, height: 16, channels: 1 };
    expect(validateBatch(batch({ images: [image, image] }), session(), limits)).toBeUndefined();
    expect(validateBatch(batch({ images: [image, image, image] }), session(), limits)?.code).toBe(
      ErrorCode.TOO_MANY_IMAGES,
    );
    expect(validateBatch(batch({ predictions: [{}, {}, {}] }), session(), limits)?.code).toBe(
      ErrorCode.TOO_MANY_IMAGES,
    );
  });

  it('accepts an image at exactly the max dimension and rejects one pixel more', () => {
    const sof = (side: number) => tinyJpeg(side, side);
    expect(
      validateBatch(batch({ images: [{ imageBytes: sof(64) }] }), session(), limits),
    ).toBeUndefined();
    expect(
      validateBatch(batch({ images: [{ imageBytes: sof(65) }] }), session(), limits)?.code,
    ).toBe(ErrorCode.IMAGE_TOO_LARGE);
  });

  it('rejects a truncated JPEG whose frame header is intact, naming the batch and image', () => {
    const whole = tinyJpeg(16, 16);
    const cut = whole.subarray(0, whole.length - 3);
    const rejection = validateBatch(
      batch({ epoch: 2, batchIdx: 7, images: [{ imageBytes: whole }, { imageBytes: cut }] }),
      session(),
      limits,
    );
    expect(rejection?.code).toBe(ErrorCode.NOT_JPEG);
    expect(rejection?.message).toBe(
      'batch 7 of epoch 2, image 1: the JPEG does not end with the end-of-image marker FF D9: it is truncated',
    );
  });

  describe('predictions and ground truth', () => {
    const withClasses = (count: number) => {
      const current = session();
      current.config = create(TrainingConfigSchema, {
        classNames: Array.from({ length: count }, (_, index) => `class-${index}`),
      });
      return current;
    };
    const check = (init: Parameters<typeof batch>[0], classes = 3) =>
      validateBatch(batch({ batchIdx: 4, ...init }), withClasses(classes), limits);

    it('accepts confidence 0 and 1, the first and last class, a label of exactly the bound', () => {
      expect(
        check({
          predictions: [
            {
              predictedClass: 0,
              confidence: 0,
              predictedLabel: 'l'.repeat(MAX_PREDICTED_LABEL_LENGTH),
            },
            { predictedClass: 2, confidence: 1 },
          ],
          groundTruth: [0, 2],
        }),
      ).toBeUndefined();
    });

    it.each([
      [
        'NaN confidence',
        { predictions: [{}, { confidence: Number.NaN }] },
        ErrorCode.NON_FINITE_VALUE,
        /image 1: confidence is NaN/,
      ],
      [
        'confidence over 1',
        { predictions: [{ confidence: 1.5 }] },
        ErrorCode.INVALID_ARGUMENT,
        /image 0: confidence 1.5 is outside 0..1/,
      ],
      [
        'negative confidence',
        { predictions: [{ confidence: -0.25 }] },
        ErrorCode.INVALID_ARGUMENT,
        /confidence -0.25 is outside 0..1/,
      ],
      [
        'predicted_class past the last class',
        { predictions: [{ predictedClass: 3 }] },
        ErrorCode.INVALID_ARGUMENT,
        /image 0: predicted_class 3 is outside class_names \(3 classes: 0..2\)/,
      ],
      [
        'negative predicted_class',
        { predictions: [{ predictedClass: -1 }] },
        ErrorCode.INVALID_ARGUMENT,
        /predicted_class -1 is negative/,
      ],
      [
        'ground_truth past the last class',
        { groundTruth: [0, 7] },
        ErrorCode.INVALID_ARGUMENT,
        /image 1: ground_truth 7 is outside class_names \(3 classes: 0..2\)/,
      ],
      [
        'negative ground_truth',
        { groundTruth: [-2] },
        ErrorCode.INVALID_ARGUMENT,
        /image 0: ground_truth -2 is negative/,
      ],
      [
        'a 10,000-character predicted_label',
        { predictions: [{ predictedLabel: 'x'.repeat(10_000) }] },
        ErrorCode.INVALID_ARGUMENT,
        /predicted_label has 10000 characters, more than 256/,
      ],
    ])('rejects %s, naming the batch and image', (_case, init, code, message) => {
      const rejection = check(init);
      expect(rejection?.code).toBe(code);
      expect(rejection?.message).toMatch(message);
      expect(rejection?.message).toMatch(/^batch 4 of epoch 0, image \d+: /);
    });

    it('without class names, any class index >= 0 is accepted', () => {
      const noClasses = session();
      expect(
        validateBatch(
          batch({ predictions: [{ predictedClass: 999, confidence: 0.5 }], groundTruth: [12] }),
          noClasses,
          limits,
        ),
      ).toBeUndefined();
      expect(validateBatch(batch({ groundTruth: [-1] }), noClasses, limits)?.message).toMatch(
        /ground_truth -1 is negative/,
      );
    });
  });

  it('rejects a format other than jpeg', () => {
    expect(validateBatch(batch({ images: [{ format: 'png' }] }), session(), limits)?.code).toBe(
      ErrorCode.NOT_JPEG,
    );
  });

  it('rejects a repeated or earlier position as OUT_OF_ORDER', () => {
    const current = session();
    current.position = { epoch: 1, batchIdx: 5 };
    expect(validateBatch(batch({ epoch: 1, batchIdx: 5 }), current, limits)?.code).toBe(
      ErrorCode.OUT_OF_ORDER,
    );
    expect(validateBatch(batch({ epoch: 0, batchIdx: 9 }), current, limits)?.code).toBe(
      ErrorCode.OUT_OF_ORDER,
    );
    expect(validateBatch(batch({ epoch: 2, batchIdx: 0 }), current, limits)).toBeUndefined();
  });

  it('accepts a non-finite batch_loss and non-finite epoch averages: a diverging run is data', () => {
    for (const loss of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(validateBatch(batch({ batchLoss: loss }), session(), limits)).toBeUndefined();
      const epoch = create(EpochDataSchema, { epoch: 0, averageLoss: loss, averageAccuracy: loss });
      expect(validateEpoch(epoch, session())).toBeUndefined();
    }
    // A finite accuracy is still a fraction.
    const tooHigh = create(EpochDataSchema, {
      epoch: 0,
      averageLoss: Number.NaN,
      averageAccuracy: 2,
    });
    expect(validateEpoch(tooHigh, session())?.message).toMatch(
      /average_accuracy 2 is outside 0..1/,
    );
  });

  it('rejects non-finite and negative performance figures', () => {
    expect(
      validatePerformance(create(PerformanceDataSchema, { currentFps: Number.NaN }))?.code,
    ).toBe(ErrorCode.NON_FINITE_VALUE);
    expect(validatePerformance(create(PerformanceDataSchema, { averageFps: -1 }))?.code).toBe(
      ErrorCode.INVALID_ARGUMENT,
    );
  });

  it('follows the lifecycle INITIALIZING → RUNNING ⇄ PAUSED → COMPLETED/FAILED', () => {
    const current = session();
    const to = (status: TrainingStatus) =>
      validateStatus(create(StatusUpdateSchema, { status }), current);
    expect(to(TrainingStatus.RUNNING)).toBeUndefined();
    current.status = TrainingStatus.RUNNING;
    expect(to(TrainingStatus.PAUSED)).toBeUndefined();
    current.status = TrainingStatus.PAUSED;
    expect(to(TrainingStatus.RUNNING)).toBeUndefined();
    current.status = TrainingStatus.COMPLETED;
    expect(to(TrainingStatus.RUNNING)?.message).toMatch(/COMPLETED to RUNNING/);
    expect(to(TrainingStatus.INITIALIZING)).toBeUndefined();
    expect(to(TrainingStatus.UNKNOWN)?.code).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});
