import { CpuMeter, PERFORMANCE_WINDOW, PerformanceTracker } from './performance-tracker';

function clock(start = 1000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('PerformanceTracker', () => {
  const shape = { totalEpochs: 2, batchesPerEpoch: 100 };

  it('has no figures before the first batch', () => {
    expect(new PerformanceTracker(shape, clock().now).figures(0)).toBeUndefined();
  });

  it('computes time per batch, FPS, epoch time and ETA from batch timing', () => {
    const c = clock();
    const tracker = new PerformanceTracker(shape, c.now);
    for (let i = 0; i < 10; i++) {
      c.advance(100);
      tracker.recordBatch(0);
    }
    const figures = tracker.figures(10)!;
    expect(figures.timePerBatchMs).toBeCloseTo(100);
    expect(figures.currentFps).toBeCloseTo(10);
    expect(figures.averageFps).toBeCloseTo(10);
    expect(figures.totalTimeForEpochSec).toBeCloseTo(1);
    expect(figures.estimatedTimeRemainingSec).toBeCloseTo((190 * 100) / 1000);
  });

  it('current figures follow the last window; average covers the whole run', () => {
    const c = clock();
    const tracker = new PerformanceTracker(shape, c.now);
    for (let i = 0; i < 100; i++) {
      c.advance(100);
      tracker.recordBatch(0);
    }
    for (let i = 0; i < PERFORMANCE_WINDOW; i++) {
      c.advance(20);
      tracker.recordBatch(0);
    }
    const figures = tracker.figures(150)!;
    expect(figures.timePerBatchMs).toBeCloseTo(20);
    expect(figures.currentFps).toBeCloseTo(50);
    expect(figures.averageFps).toBeCloseTo(150 / 11);
  });

  it('restarts the epoch clock on a new epoch and clamps the ETA at zero', () => {
    const c = clock();
    const tracker = new PerformanceTracker({ totalEpochs: 1, batchesPerEpoch: 2 }, c.now);
    c.advance(500);
    tracker.recordBatch(0);
    c.advance(500);
    tracker.recordBatch(0);
    c.advance(250);
    tracker.recordBatch(1);
    const figures = tracker.figures(3)!;
    expect(figures.totalTimeForEpochSec).toBeCloseTo(0.25);
    expect(figures.estimatedTimeRemainingSec).toBe(0);
  });

  it('restart() moves the start to now, but only before the first batch', () => {
    const c = clock();
    const tracker = new PerformanceTracker(shape, c.now);
    c.advance(5000); // connecting
    tracker.restart();
    c.advance(100);
    tracker.recordBatch(0);
    tracker.restart();
    c.advance(100);
    tracker.recordBatch(0);
    expect(tracker.figures(2)!.timePerBatchMs).toBeCloseTo(100);
    expect(tracker.figures(2)!.averageFps).toBeCloseTo(10);
  });

  it('leaves paused time out', () => {
    const c = clock();
    const tracker = new PerformanceTracker(shape, c.now);
    c.advance(100);
    tracker.recordBatch(0);
    c.advance(5000);
    tracker.recordPause(4900);
    tracker.recordBatch(0);
    const figures = tracker.figures(2)!;
    expect(figures.timePerBatchMs).toBeCloseTo(100);
    expect(figures.averageFps).toBeCloseTo(10);
  });
});

describe('CpuMeter', () => {
  it('reports CPU time used over wall time elapsed, as percent of one core', () => {
    let now = 0;
    const meter = new CpuMeter(() => now);
    const cpuMicros = () => {
      const usage = process.cpuUsage();
      return usage.user + usage.system;
    };
    const start = cpuMicros();
    // Burn at least 50 ms of CPU, however long the machine makes that take.
    while (cpuMicros() - start < 50_000);
    now = 100; // ...within 100 ms of (fake) wall time: 50% or a little more.
    const percent = meter.sample();
    expect(percent).toBeGreaterThanOrEqual(50);
    expect(percent).toBeLessThan(100);
    now = 200; // idle since: close to 0.
    expect(meter.sample()).toBeLessThan(20);
  });
});
