import { fromBinary } from '@bufbuild/protobuf';
import { MetricsRequestSchema } from '@trainwatch/proto';
import { jpegOfSize } from './jpeg-payloads';
import {
  COMMAND_RESULT_FIELD,
  encodeBatchRequest,
  encodeCommandResult,
  benchMetricNames,
  encodeImagePart,
  hasTopLevelField,
} from './wire';

describe('encodeBatchRequest', () => {
  const images = [jpegOfSize(600, 1), jpegOfSize(600, 2)];
  const imagePart = encodeImagePart(images);
  const bytes = encodeBatchRequest(
    {
      sessionId: 's-1',
      sequence: 42n,
      epoch: 3,
      batchIdx: 7,
      loss: 0.25,
      timestampMs: 1_700_000_000_123,
    },
    imagePart,
  );

  it('decodes as one MetricsRequest carrying the scalars and the pre-encoded images', () => {
    const message = fromBinary(MetricsRequestSchema, bytes);
    expect(message.sessionId).toBe('s-1');
    expect(message.sequence).toBe(42n);
    expect(message.payload.case).toBe('batchData');
    if (message.payload.case !== 'batchData') return;
    const batch = message.payload.value;
    expect([batch.epoch, batch.batchIdx, batch.batchLoss]).toEqual([3, 7, 0.25]);
    expect(batch.timestampMs).toBe(1_700_000_000_123n);
    expect(batch.images).toHaveLength(2);
    expect(Array.from(batch.images[1].imageBytes.subarray(0, 3))).toEqual([0xff, 0xd8, 0xff]);
    expect(batch.images[1].imageBytes).toEqual(images[1].bytes);
    expect(batch.predictions).toHaveLength(2);
    expect(batch.groundTruth).toHaveLength(2);
  });

  it('carries named metrics as BatchData.metrics when given', () => {
    const names = benchMetricNames(20);
    expect(new Set(names).size).toBe(20);
    const withMetrics = encodeBatchRequest(
      {
        sessionId: 's-1',
        sequence: 43n,
        epoch: 0,
        batchIdx: 8,
        loss: 0.5,
        timestampMs: 1,
        metrics: names.map((name, i) => [name, i / 4] as const),
      },
      imagePart,
    );
    const message = fromBinary(MetricsRequestSchema, withMetrics);
    if (message.payload.case !== 'batchData') throw new Error('not a batch');
    expect(message.payload.value.metrics).toEqual(
      Object.fromEntries(names.map((name, i) => [name, i / 4])),
    );
    expect(message.payload.value.images).toHaveLength(2);
  });

  it('is told apart from a command result by a top-level field scan', () => {
    expect(hasTopLevelField(bytes, COMMAND_RESULT_FIELD)).toBe(false);
    expect(hasTopLevelField(encodeCommandResult('s-1', 43n, 'c-1'), COMMAND_RESULT_FIELD)).toBe(
      true,
    );
  });
});

describe('jpegOfSize', () => {
  it.each([2048, 15 * 1024])('lands within 20%% of %i bytes and is a JPEG', (target) => {
    const image = jpegOfSize(target);
    expect(Math.abs(image.bytes.length - target) / target).toBeLessThan(0.2);
    expect(Array.from(image.bytes.subarray(0, 3))).toEqual([0xff, 0xd8, 0xff]);
  });
});
