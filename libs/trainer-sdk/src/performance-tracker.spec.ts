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
  it('reports busy work as CPU use', () => {
    const meter = new CpuMeter();
    const until = performance.now() + 60;
    let spin = 0;
    while (performance.now() < until) spin++;
    expect(spin).toBeGreaterThan(0);
    const percent = meter.sample();
    expect(percent).toBeGreaterThan(30);
    expect(percent).toBeLessThan(400);
  });
});
