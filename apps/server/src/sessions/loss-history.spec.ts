import { LossHistory } from './loss-history';

describe('LossHistory', () => {
  it('keeps every point while under the bound', () => {
    const history = new LossHistory(100);
    for (let step = 0; step < 50; step++) history.add(BigInt(step), step / 10);
    const message = history.toMessage();
    expect(message.steps).toEqual(Array.from({ length: 50 }, (_, step) => BigInt(step)));
    expect(message.losses[49]).toBeCloseTo(4.9);
    expect(message.totalPoints).toBe(50n);
  });

  it('1,000,000 points in: at most the bound out, ordered, with the spike and the dip present', () => {
    const bound = 4000;
    const history = new LossHistory(bound);
    for (let step = 0; step < 1_000_000; step++) {
      const loss = step === 777_777 ? 1e6 : step === 123_457 ? -5 : 1 + Math.sin(step / 1000);
      history.add(BigInt(step), loss);
    }
    const { steps, losses, totalPoints } = history.toMessage();
    expect(totalPoints).toBe(1_000_000n);
    expect(steps.length).toBeLessThanOrEqual(bound);
    expect(steps.length).toBeGreaterThan(bound / 4);
    expect(losses).toHaveLength(steps.length);
    expect(Math.max(...losses)).toBe(1e6);
    expect(steps[losses.indexOf(1e6)]).toBe(777_777n);
    expect(Math.min(...losses)).toBe(-5);
    for (let index = 1; index < steps.length; index++) {
      expect((steps[index] as bigint) > (steps[index - 1] as bigint)).toBe(true);
    }
  });

  it('stays within the bound at exactly the bound and one past it', () => {
    const history = new LossHistory(16);
    for (let step = 0; step < 16; step++) history.add(BigInt(step), step % 2);
    expect(history.toMessage().steps.length).toBeLessThanOrEqual(16);
    history.add(16n, 99);
    const { steps, losses } = history.toMessage();
    expect(steps.length).toBeLessThanOrEqual(16);
    expect(losses).toContain(99);
  });

  it('thins to a smaller point count on request, keeping the spike', () => {
    const history = new LossHistory(4000);
    for (let step = 0; step < 4000; step++) history.add(BigInt(step), step === 3001 ? 50 : 1);
    const { steps, losses, totalPoints } = history.toMessage(100);
    expect(steps.length).toBeLessThanOrEqual(100);
    expect(totalPoints).toBe(4000n);
    expect(steps[losses.indexOf(50)]).toBe(3001n);
  });
});
