import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { SessionInfoSchema, TrainingConfigSchema } from '@trainwatch/proto';
import {
  validateSessionId,
  validateSessionInfo,
  validateTrainingConfig,
} from './session-validation';

const config = (init: Parameters<typeof create<typeof TrainingConfigSchema>>[1] = {}) =>
  create(TrainingConfigSchema, { totalEpochs: 1, batchesPerEpoch: 1, batchSize: 1, ...init });

describe('session validation', () => {
  it.each(['a', 'run-1.2:x_Y', 'x'.repeat(128)])('accepts the id %s', (id) => {
    expect(() => validateSessionId(id)).not.toThrow();
  });

  it.each(['', 'x'.repeat(129), 'has space', 'slash/no', 'ünï'])(
    'rejects the id %j with INVALID_ARGUMENT',
    (id) => {
      expect(() => validateSessionId(id)).toThrow(
        expect.objectContaining({ code: status.INVALID_ARGUMENT }),
      );
    },
  );

  it('accepts 10,000 class names and rejects 10,001', () => {
    expect(() =>
      validateTrainingConfig(config({ classNames: Array(10_000).fill('c') })),
    ).not.toThrow();
    expect(() => validateTrainingConfig(config({ classNames: Array(10_001).fill('c') }))).toThrow(
      /at most 10000/,
    );
  });

  it('accepts 10,000 ASCII names of 256 characters; rejects multi-byte names past 2,560,000 bytes', () => {
    expect(() =>
      validateTrainingConfig(config({ classNames: Array(10_000).fill('c'.repeat(256)) })),
    ).not.toThrow();
    expect(() =>
      validateTrainingConfig(config({ classNames: Array(10_000).fill('é'.repeat(256)) })),
    ).toThrow(/5120000 bytes as UTF-8; at most 2560000/);
  });

  it.each([
    ['total_epochs', { totalEpochs: 0 }],
    ['batches_per_epoch', { batchesPerEpoch: -1 }],
    ['batch_size', { batchSize: 0 }],
    ['model_name', { modelName: 'm'.repeat(257) }],
    ['class_names[1]', { classNames: ['ok', 'c'.repeat(257)] }],
  ])('names %s when it is out of range', (field, init) => {
    expect(() => validateTrainingConfig(config(init))).toThrow(
      new RegExp(`config\\.${field.replace(/[[\]]/g, '\\$&')}`),
    );
  });

  it('an empty session id is allowed at registration (the server assigns one)', () => {
    expect(() =>
      validateSessionInfo(create(SessionInfoSchema, { config: config() })),
    ).not.toThrow();
    expect(() =>
      validateSessionInfo(
        create(SessionInfoSchema, { clientVersion: 'v'.repeat(65), config: config() }),
      ),
    ).toThrow(/client_version/);
  });
});
