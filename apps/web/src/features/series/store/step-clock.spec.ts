import { StepClock } from './step-clock';

describe('StepClock', () => {
  it('interpolates between noted steps both ways and extrapolates at the ends', () => {
    const clock = new StepClock();
    clock.note(0, 1000);
    clock.note(10, 2000);
    clock.note(20, 4000);
    expect(clock.timeAt(5)).toBe(1500);
    expect(clock.timeAt(15)).toBe(3000);
    expect(clock.timeAt(30)).toBe(6000);
    expect(clock.stepAt(3000)).toBe(15);
    expect(clock.startMs).toBe(1000);
  });

  it('ignores replays, missing times and a clock going backwards', () => {
    const clock = new StepClock();
    clock.note(0, 0);
    clock.note(1, 1000);
    clock.note(1, 5000);
    clock.note(2, 900);
    expect(clock.length).toBe(2);
    expect(clock.timeAt(2)).toBe(1000);
  });

  it('stays within its bound, keeping the first and newest pairs', () => {
    const clock = new StepClock(8);
    for (let step = 0; step < 100; step++) clock.note(step, 1000 + step * 10);
    expect(clock.length).toBeLessThanOrEqual(8);
    expect(clock.startMs).toBe(1000);
    expect(clock.timeAt(99)).toBe(1990);
    expect(clock.timeAt(50)).toBe(1500);
  });
});
