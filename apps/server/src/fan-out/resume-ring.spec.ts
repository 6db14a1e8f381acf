import { create, toBinary } from '@bufbuild/protobuf';
import { WatchSessionResponseSchema } from '@trainwatch/proto';
import { ResumeRing, estimatedEventBytes } from './resume-ring';

const batch = (cursor: bigint, metrics: Record<string, number> = {}) =>
  create(WatchSessionResponseSchema, {
    cursor,
    event: { case: 'batch', value: { batchIdx: Number(cursor), metrics } },
  });

describe('ResumeRing', () => {
  it('returns every event after a cursor it still holds, none for the newest, undefined past its bounds', () => {
    const ring = new ResumeRing({ maxEvents: 4, maxBytes: 1 << 20 });
    for (let cursor = 11n; cursor <= 16n; cursor++) ring.push(batch(cursor));
    expect(ring.size).toBe(4);
    expect(ring.since(12n, 16n)?.map((event) => event.cursor)).toEqual([13n, 14n, 15n, 16n]);
    expect(ring.since(14n, 16n)?.map((event) => event.cursor)).toEqual([15n, 16n]);
    expect(ring.since(16n, 16n)).toEqual([]);
    // 12 was dropped: resuming from 11 would miss it.
    expect(ring.since(11n, 16n)).toBeUndefined();
    // A cursor ahead of the session's is not one of this ring's (another process numbered it).
    expect(ring.since(17n, 16n)).toBeUndefined();
  });

  it('drops the oldest events past its byte bound', () => {
    const metrics = Object.fromEntries(
      Array.from({ length: 50 }, (_, index) => [`m${index}`, index]),
    );
    const one = estimatedEventBytes(batch(1n, metrics));
    const ring = new ResumeRing({ maxEvents: 1000, maxBytes: one * 3 });
    for (let cursor = 1n; cursor <= 10n; cursor++) ring.push(batch(cursor, metrics));
    expect(ring.size).toBe(3);
    expect(ring.since(7n, 10n)?.map((event) => event.cursor)).toEqual([8n, 9n, 10n]);
    expect(ring.since(6n, 10n)).toBeUndefined();
  });

  it('estimates a confusion increment within a factor of two of its encoded size, without encoding it', () => {
    const truth = [0, 0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 9];
    const increment = create(WatchSessionResponseSchema, {
      cursor: 5n,
      event: {
        case: 'confusion',
        value: {
          epoch: 3,
          predictions: 16n,
          truthClasses: truth,
          predictedClasses: truth.map((label, index) => (label + index) % 10),
          counts: truth.map((_, index) => BigInt(1 + (index % 3))),
          rowClasses: [...new Set(truth)],
          rowTotals: [...new Set(truth)].map(() => 2n),
          rowCorrect: [...new Set(truth)].map(() => 1n),
        },
      },
    });
    const encoded = toBinary(WatchSessionResponseSchema, increment).byteLength;
    const estimate = estimatedEventBytes(increment);
    expect(estimate).toBeGreaterThanOrEqual(encoded / 2);
    expect(estimate).toBeLessThanOrEqual(encoded * 2);
  });

  it('stays bounded over a long run', () => {
    const ring = new ResumeRing({ maxEvents: 8, maxBytes: 1 << 20 });
    for (let cursor = 1n; cursor <= 10_000n; cursor++) ring.push(batch(cursor));
    expect(ring.size).toBe(8);
    expect(ring.since(9_992n, 10_000n)).toHaveLength(8);
  });
});
