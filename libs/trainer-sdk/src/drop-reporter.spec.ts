import { DropReporter } from './drop-reporter';
import type { SessionError } from './types';

describe('DropReporter', () => {
  it('reports image drops once per outage, every scalar drop, and sums up after', () => {
    const errors: SessionError[] = [];
    const reporter = new DropReporter(
      () => 40,
      (error) => errors.push(error),
    );
    for (let i = 0; i < 5; i++) {
      reporter.dropped({
        kind: 'images',
        logIndex: i,
        sequence: BigInt(i),
        epoch: 0,
        batchIdx: i,
        imageCount: 16,
      });
    }
    reporter.dropped({ kind: 'message', logIndex: 9, sequence: 9n, payload: 'performanceData' });
    expect(errors.map((e) => e.message)).toEqual([
      'buffer full (40 slots): dropping images, oldest first, from batch 0/0 on; losses are kept',
      'buffer full (40 slots) with no images left to drop: dropped performanceData message (logged #9, sequence 9)',
    ]);
    expect(reporter.takeSummary()).toBe(
      'trainer buffer was full while offline: dropped images of 5 batches and 1 other messages',
    );
    expect(reporter.takeSummary()).toBeUndefined();
    reporter.dropped({
      kind: 'images',
      logIndex: 20,
      sequence: 20n,
      epoch: 1,
      batchIdx: 3,
      imageCount: 16,
    });
    expect(errors).toHaveLength(3);
  });
});
