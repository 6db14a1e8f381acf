import { create } from '@bufbuild/protobuf';
import { MetricsRequestSchema, type MetricsRequest } from '@trainwatch/proto';
import { Outbox, type DroppedItem } from './outbox';

const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0]);

function batch(batchIdx: number, images = 0): MetricsRequest {
  return create(MetricsRequestSchema, {
    payload: {
      case: 'batchData',
      value: {
        epoch: 0,
        batchIdx,
        batchLoss: 1 / (batchIdx + 1),
        images: Array.from({ length: images }, () => ({ imageBytes: jpeg, width: 1, height: 1 })),
        predictions: Array.from({ length: images }, () => ({ predictedClass: 1, confidence: 0.5 })),
        groundTruth: Array.from({ length: images }, () => 1),
      },
    },
  });
}

function performance(): MetricsRequest {
  return create(MetricsRequestSchema, {
    payload: { case: 'performanceData', value: { currentFps: 10 } },
  });
}

function status(): MetricsRequest {
  return create(MetricsRequestSchema, {
    payload: { case: 'statusUpdate', value: { message: 'x' } },
  });
}

function commandResult(commandId: string): MetricsRequest {
  return create(MetricsRequestSchema, {
    payload: { case: 'commandResult', value: { commandId, expired: true } },
  });
}

function drain(outbox: Outbox): bigint[] {
  const order: bigint[] = [];
  for (let entry = outbox.peekUnsent(); entry; entry = outbox.peekUnsent()) {
    order.push(outbox.markSent(entry));
  }
  return order;
}

// The buffer's rules are checked by the shared scenarios (sdk-scenarios.spec.ts);
// these cover what a scenario cannot express: volume, payload details, bad input.
describe('Outbox', () => {
  it('reports a stripped frame with its position and keeps the batch scalars', () => {
    const drops: DroppedItem[] = [];
    const outbox = new Outbox(2, (item) => drops.push(item));
    outbox.push(batch(1, 16));
    outbox.push(status());
    expect(drops).toEqual([
      { kind: 'images', logIndex: 1, sequence: 0n, epoch: 0, batchIdx: 1, imageCount: 16 },
    ]);
    const stripped = outbox.peekUnsent()!.request.payload;
    expect(stripped.case === 'batchData' && stripped.value).toMatchObject({
      batchIdx: 1,
      batchLoss: 0.5,
      images: [],
      predictions: [],
      groundTruth: [],
    });
    expect(outbox.imageBytes).toBe(0);
  });

  it('never holds more than the bound, whatever arrives', () => {
    const outbox = new Outbox(50);
    for (let i = 1; i <= 5000; i++) {
      const kind = i % 7;
      outbox.push(
        kind === 0
          ? performance()
          : kind === 3
            ? commandResult(`c${i}`)
            : batch(i, kind % 2 === 0 ? 16 : 0),
      );
      if (i % 5 === 0) drain(outbox);
      // Command results alone may exceed it (they are never dropped).
      const results = outbox.held().filter((e) => e.request.payload.case === 'commandResult');
      expect(outbox.slotsInUse).toBeLessThanOrEqual(Math.max(50, results.length));
      // Acknowledge the oldest written half of the time, like a slow server.
      if (i % 2 === 0) outbox.ack(outbox.highestAcked + 1n);
    }
    expect(outbox.held().length).toBe(outbox.size);
    expect(outbox.dropped.droppedMessages).toBeGreaterThan(0);
  });

  it('numbers on first write and writes each message once per connection', () => {
    const outbox = new Outbox(10);
    for (let i = 1; i <= 3; i++) outbox.push(batch(i));
    expect(drain(outbox)).toEqual([1n, 2n, 3n]);
    expect(drain(outbox)).toEqual([]);
    expect(outbox.resume(1n)).toBe(1);
    expect(drain(outbox)).toEqual([2n, 3n]);
    expect(outbox.pending).toBe(0);
  });

  it('rejects a bound below one', () => {
    expect(() => new Outbox(0)).toThrow(RangeError);
    expect(() => new Outbox(1.5)).toThrow(/integer >= 1/);
    expect(() => new Outbox(3).resize(0)).toThrow(RangeError);
  });
});
