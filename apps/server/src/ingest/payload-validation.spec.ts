import { create } from '@bufbuild/protobuf';
import {
  BatchDataSchema,
  ErrorCode,
  StatusUpdateSchema,
  TrainingStatus,
  PerformanceDataSchema,
} from '@trainwatch/proto';
import { Session } from '../sessions/session';
import { validateBatch, validatePerformance, validateStatus } from './payload-validation';

const limits = { maxImagesPerBatch: 2, maxImageDimension: 64 };
const session = () => new Session('s', 0, { lossHistoryPoints: 100, commandAuditSize: 10 });
const batch = (init: Parameters<typeof create<typeof BatchDataSchema>>[1]) =>
  create(BatchDataSchema, { batchLoss: 1, ...init });

describe('payload validation', () => {
  it('accepts exactly max images and rejects one more (predictions count too)', () => {
    const jpeg = new Uint8Array([
      0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01,
    ]);
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
    const sof = (side: number) =>
      new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, side, 0x00, side, 0x01]);
    expect(
      validateBatch(batch({ images: [{ imageBytes: sof(64) }] }), session(), limits),
    ).toBeUndefined();
    expect(
      validateBatch(batch({ images: [{ imageBytes: sof(65) }] }), session(), limits)?.code,
    ).toBe(ErrorCode.IMAGE_TOO_LARGE);
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
