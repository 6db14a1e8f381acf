import { SeriesKind } from '@trainwatch/proto';
import { SeriesHistory } from './series-history';

const series = (maxPoints: number) => new SeriesHistory('loss', SeriesKind.STEP, maxPoints);

describe('SeriesHistory', () => {
  it('keeps every point while under the bound', () => {
    const history = series(100);
    for (let step = 0; step < 50; step++) history.add(BigInt(step), step / 10, 1000 + step);
    const message = history.toMessage();
    expect(message.steps).toEqual(Array.from({ length: 50 }, (_, step) => BigInt(step)));
    expect(message.values[49]).toBeCloseTo(4.9);
    expect(message.timestampsMs[49]).toBe(1049n);
    expect(message).toMatchObject({ name: 'loss', kind: SeriesKind.STEP });
    expect(message.totalPoints).toBe(50n);
  });

  it('1,000,000 points in: at most the bound out, ordered, with the spike and the dip present', () => {
    const bound = 4000;
    const history = series(bound);
    for (let step = 0; step < 1_000_000; step++) {
      const loss = step === 777_777 ? 1e6 : step === 123_457 ? -5 : 1 + Math.sin(step / 1000);
      history.add(BigInt(step), loss, step);
    }
    const { steps, values, totalPoints } = history.toMessage();
    expect(totalPoints).toBe(1_000_000n);
    expect(steps.length).toBeLessThanOrEqual(bound);
    expect(steps.length).toBeGreaterThan(bound / 4);
    expect(values).toHaveLength(steps.length);
    expect(Math.max(...values)).toBe(1e6);
    expect(steps[values.indexOf(1e6)]).toBe(777_777n);
    expect(Math.min(...values)).toBe(-5);
    for (let index = 1; index < steps.length; index++) {
      expect((steps[index] as bigint) > (steps[index - 1] as bigint)).toBe(true);
    }
  });

  it('stays within the bound at exactly the bound and one past it', () => {
    const history = series(16);
    for (let step = 0; step < 16; step++) history.add(BigInt(step), step % 2, step);
    expect(history.toMessage().steps.length).toBeLessThanOrEqual(16);
    history.add(16n, 99, 16);
    const { steps, values } = history.toMessage();
    expect(steps.length).toBeLessThanOrEqual(16);
    expect(values).toContain(99);
  });

  it('thins to a smaller point count on request, keeping the spike', () => {
    const history = series(4000);
    for (let step = 0; step < 4000; step++) history.add(BigInt(step), step === 3001 ? 50 : 1, step);
    const { steps, values, totalPoints } = history.toMessage(100);
    expect(steps.length).toBeLessThanOrEqual(100);
    expect(totalPoints).toBe(4000n);
    expect(steps[values.indexOf(50)]).toBe(3001n);
  });

  it('keeps a NaN as the spike of its bucket, and infinities as its extremes', () => {
    const history = series(16);
    for (let step = 0; step < 1000; step++) {
      const value =
        step === 500 ? Number.NaN : step === 600 ? Infinity : step === 700 ? -Infinity : 1;
      history.add(BigInt(step), value, step);
    }
    const { steps, values } = history.toMessage();
    expect(values.length).toBeLessThanOrEqual(16);
    expect(steps[values.findIndex(Number.isNaN)]).toBe(500n);
    expect(values).toContain(Infinity);
    expect(values).toContain(-Infinity);
  });

  it('a lower bound compacts at once and releases memory; 0 points leaves the values out', () => {
    const history = series(4000);
    for (let step = 0; step < 4000; step++) history.add(BigInt(step), step, step);
    const before = history.allocatedBytes;
    history.setMaxPoints(100);
    expect(history.toMessage().steps.length).toBeLessThanOrEqual(100);
    expect(history.allocatedBytes).toBeLessThan(before / 10);
    expect(history.toMessage(0)).toMatchObject({ steps: [], values: [], totalPoints: 4000n });
  });
});
