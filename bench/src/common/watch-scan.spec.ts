import { create, toBinary } from '@bufbuild/protobuf';
import {
  ImageDataSchema,
  MetricsRequestSchema,
  WatchSessionResponseSchema,
} from '@trainwatch/proto';
import { jpegOfSize } from './jpeg-payloads';
import { scanRelayedBatch, scanWatchResponse } from './watch-scan';

const images = [jpegOfSize(2048, 1), jpegOfSize(2048, 2)].map((jpeg) =>
  create(ImageDataSchema, {
    imageBytes: jpeg.bytes,
    format: 'jpeg',
    width: jpeg.width,
    height: jpeg.height,
    channels: 3,
  }),
);

const response = (init: Parameters<typeof create<typeof WatchSessionResponseSchema>>[1]) =>
  toBinary(WatchSessionResponseSchema, create(WatchSessionResponseSchema, init));

describe('scanWatchResponse', () => {
  it('reads a batch event: its batch_idx and when the server applied it', () => {
    const bytes = response({
      cursor: 9n,
      event: {
        case: 'batch',
        value: { epoch: 2, batchIdx: 1234, step: 99_999n, receivedAtMs: 1_764_590_000_123n },
      },
    });
    expect(scanWatchResponse(bytes)).toEqual({
      kind: 'batch',
      batchIdx: 1234,
      receivedAtMs: 1_764_590_000_123,
    });
  });

  it('reads an image frame past its images', () => {
    const event = {
      case: 'images' as const,
      value: { epoch: 1, batchIdx: 77, images, groundTruth: [1, 2] },
    };
    expect(scanWatchResponse(response({ cursor: 3n, event }))).toEqual({
      kind: 'images',
      batchIdx: 77,
      receivedAtMs: 0,
    });
  });

  it('reports other events as other', () => {
    expect(scanWatchResponse(response({ event: { case: 'keepalive', value: {} } })).kind).toBe(
      'other',
    );
    expect(scanWatchResponse(new Uint8Array(0)).kind).toBe('other');
  });
});

describe('scanRelayedBatch', () => {
  it("reads a forwarded trainer message's batch_idx, images and all", () => {
    const bytes = toBinary(
      MetricsRequestSchema,
      create(MetricsRequestSchema, {
        sessionId: 's-1',
        sequence: 5n,
        payload: { case: 'batchData', value: { epoch: 0, batchIdx: 4321, images, batchLoss: 1.5 } },
      }),
    );
    expect(scanRelayedBatch(bytes)).toBe(4321);
  });

  it('finds no batch in a heartbeat', () => {
    const bytes = toBinary(
      MetricsRequestSchema,
      create(MetricsRequestSchema, {
        sessionId: 's-1',
        payload: { case: 'heartbeat', value: { sequenceNumber: 3n } },
      }),
    );
    expect(scanRelayedBatch(bytes)).toBeUndefined();
  });
});
