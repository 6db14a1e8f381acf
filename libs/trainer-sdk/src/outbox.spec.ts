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
    order.push(entry.sequence);
    outbox.markSent(entry.sequence);
  }
  return order;
}

describe('Outbox', () => {
  it('keeps messages in order until acknowledged and replays the unacknowledged', () => {
    const outbox = new Outbox(10);
    for (let i = 1; i <= 5; i++) outbox.push(BigInt(i), batch(i));
    expect(drain(outbox)).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(outbox.ack(1n)).toBe(true);
    expect(outbox.ack(3n)).toBe(true);
    expect(outbox.ack(3n)).toBe(false);
    expect(outbox.size).toBe(3);
    expect(outbox.pending).toBe(0);
    expect(outbox.requeueAll()).toBe(3);
    expect(drain(outbox)).toEqual([2n, 4n, 5n]);
    expect(outbox.ackThrough(4n)).toBe(2);
    expect(outbox.size).toBe(1);
  });

  it('at the bound, strips images oldest first and keeps every scalar', () => {
    const drops: DroppedItem[] = [];
    const bound = 8;
    const outbox = new Outbox(bound, (item) => drops.push(item));
    // 4 batches with images fill 8 slots exactly.
    for (let i = 1; i <= 4; i++) outbox.push(BigInt(i), batch(i, 16));
    expect(outbox.slotsInUse).toBe(bound);
    expect(outbox.imageFrames).toBe(4);
    expect(outbox.imageBytes).toBe(4 * 16 * jpeg.byteLength);
    expect(drops).toEqual([]);

    // One more: the oldest batch loses its images (one slot), then the next
    // oldest (the new one needs two).
    outbox.push(5n, batch(5, 16));
    expect(outbox.slotsInUse).toBe(bound);
    expect(outbox.size).toBe(5);
    expect(drops.map((d) => d.sequence)).toEqual([1n, 2n]);
    expect(drops[0]).toEqual({
      kind: 'images',
      sequence: 1n,
      epoch: 0,
      batchIdx: 1,
      imageCount: 16,
    });
    expect(outbox.dropped).toEqual({ droppedImageFrames: 2, droppedMessages: 0 });

    // Keep going: every batch scalar survives until there are no images left.
    outbox.push(6n, batch(6, 16));
    outbox.push(7n, batch(7));
    outbox.push(8n, batch(8));
    expect(outbox.size).toBe(8);
    expect(outbox.imageFrames).toBe(0);
    expect(outbox.imageBytes).toBe(0);
    expect(outbox.slotsInUse).toBe(bound);
    expect(outbox.dropped).toEqual({ droppedImageFrames: 6, droppedMessages: 0 });
    const stripped = outbox.peekUnsent()!.request.payload;
    expect(stripped.case === 'batchData' && stripped.value).toMatchObject({
      batchIdx: 1,
      images: [],
      predictions: [],
      groundTruth: [],
    });
  });

  it('when no images are left, drops the oldest performance sample before any other message', () => {
    const drops: DroppedItem[] = [];
    const outbox = new Outbox(3, (item) => drops.push(item));
    outbox.push(1n, status());
    outbox.push(2n, performance());
    outbox.push(3n, batch(3));
    outbox.push(4n, batch(4, 2));
    expect(drops).toEqual([
      { kind: 'images', sequence: 4n, epoch: 0, batchIdx: 4, imageCount: 2 },
      { kind: 'message', sequence: 2n, payload: 'performanceData' },
    ]);
    expect(drain(outbox)).toEqual([1n, 3n, 4n]);
    outbox.push(5n, batch(5));
    expect(drops[2]).toEqual({ kind: 'message', sequence: 1n, payload: 'statusUpdate' });
    expect(outbox.size).toBe(3);
    expect(outbox.dropped).toEqual({ droppedImageFrames: 1, droppedMessages: 2 });
  });

  it('never holds more than the bound, whatever arrives', () => {
    const outbox = new Outbox(50);
    for (let i = 1; i <= 5000; i++) {
      const kind = i % 7;
      outbox.push(BigInt(i), kind === 0 ? performance() : batch(i, kind % 2 === 0 ? 16 : 0));
      expect(outbox.slotsInUse).toBeLessThanOrEqual(50);
    }
    expect(outbox.size).toBe(50);
    expect(outbox.dropped.droppedMessages).toBe(4950);
  });

  it('never drops a command result: older scalars go first, and results alone may exceed the bound', () => {
    const drops: DroppedItem[] = [];
    const outbox = new Outbox(2, (item) => drops.push(item));
    outbox.push(1n, commandResult('a'));
    outbox.push(2n, batch(0));
    outbox.push(3n, commandResult('b'));
    expect(drops).toEqual([{ kind: 'message', sequence: 2n, payload: 'batchData' }]);
    outbox.push(4n, commandResult('c'));
    expect(outbox.size).toBe(3);
    expect(drain(outbox)).toEqual([1n, 3n, 4n]);
    // A scalar arriving while only results are held is itself the oldest droppable one.
    outbox.push(5n, status());
    expect(outbox.size).toBe(3);
    expect(drops.at(-1)).toEqual({ kind: 'message', sequence: 5n, payload: 'statusUpdate' });
  });

  it('a bound of one still accepts a batch with images, without them', () => {
    const outbox = new Outbox(1);
    outbox.push(1n, batch(1, 4));
    expect(outbox.size).toBe(1);
    expect(outbox.imageFrames).toBe(0);
    expect(outbox.dropped.droppedImageFrames).toBe(1);
  });

  it('resize sheds at once and rejects a bound below one', () => {
    const outbox = new Outbox(10);
    for (let i = 1; i <= 5; i++) outbox.push(BigInt(i), batch(i, 1));
    expect(outbox.slotsInUse).toBe(10);
    outbox.resize(6);
    expect(outbox.slotsInUse).toBe(6);
    expect(outbox.imageFrames).toBe(1);
    expect(() => outbox.resize(0)).toThrow(RangeError);
    expect(() => new Outbox(1.5)).toThrow(/integer >= 1/);
  });
});
