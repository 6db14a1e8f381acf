import { StepClock } from '../series/store/step-clock';
import { stepAtAxisX, toAxisX, type LineTimeline } from './x-axis';

const clock = new StepClock();
clock.note(0, 10_000);
clock.note(100, 20_000);
const steps: LineTimeline = { byEpoch: false, batchesPerEpoch: 50, clock };
const epochs: LineTimeline = { byEpoch: true, batchesPerEpoch: 50, clock };

describe('x axis', () => {
  it('maps steps to each axis and back', () => {
    expect(toAxisX('step', steps, 40)).toBe(40);
    expect(toAxisX('epoch', steps, 75)).toBe(1.5);
    expect(toAxisX('wall', steps, 50)).toBe(15);
    expect(toAxisX('relative', steps, 50)).toBe(5);
    for (const axis of ['step', 'epoch', 'wall', 'relative'] as const) {
      expect(stepAtAxisX(axis, steps, toAxisX(axis, steps, 60))).toBeCloseTo(60);
    }
  });

  it('puts an epoch value at the end of its epoch', () => {
    expect(toAxisX('epoch', epochs, 0)).toBe(1);
    expect(toAxisX('step', epochs, 1)).toBe(100);
    expect(toAxisX('relative', epochs, 0)).toBe(5);
  });

  it('falls back to steps without a clock', () => {
    expect(toAxisX('wall', { byEpoch: false, batchesPerEpoch: 0 }, 7)).toBe(7);
  });
});
