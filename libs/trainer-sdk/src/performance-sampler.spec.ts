import { PerformanceSampler } from './performance-sampler';

describe('PerformanceSampler', () => {
  it('is due every N batches or every T ms, whichever is later', () => {
    let now = 0;
    const sampler = new PerformanceSampler(
      { totalEpochs: 1, batchesPerEpoch: 1000 },
      { everyBatches: 3, intervalMs: 500 },
      () => now,
    );
    const due: number[] = [];
    for (let i = 1; i <= 40; i++) {
      now += 100;
      if (sampler.recordBatch(0)) {
        due.push(i);
        sampler.sample(i);
      }
    }
    // First at batch 3 (no sample yet), then every 5 batches (500 ms at 100 ms each).
    expect(due).toEqual([3, 8, 13, 18, 23, 28, 33, 38]);
  });

  it('builds a sample with figures and process resources, GPU left unset', () => {
    let now = 0;
    const sampler = new PerformanceSampler(
      { totalEpochs: 1, batchesPerEpoch: 10 },
      { everyBatches: 1, intervalMs: 0 },
      () => now,
    );
    expect(sampler.sample(0)).toBeUndefined();
    now = 200;
    sampler.recordBatch(0);
    const sample = sampler.sample(1)!;
    expect(sample).toMatchObject({
      timePerBatchMs: 200,
      currentFps: 5,
      estimatedTimeRemainingSec: 1.8,
    });
    expect(Number(sample.resourceUsage?.memoryBytes)).toBeGreaterThan(1_000_000);
    expect(sample.resourceUsage?.gpuPercent).toBeUndefined();
  });
});
