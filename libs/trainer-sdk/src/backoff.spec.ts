import { backoffDelay, resolveReconnectOptions } from './backoff';

describe('backoffDelay', () => {
  const options = { initialDelayMs: 100, maxDelayMs: 1000 };

  it('doubles per attempt and never exceeds the maximum', () => {
    const upper = (attempt: number) => backoffDelay(attempt, options, () => 0.999999);
    expect([0, 1, 2, 3, 4, 10, 100].map(upper)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('jitters within the upper half of the ceiling, never zero', () => {
    expect(backoffDelay(0, options, () => 0)).toBe(50);
    expect(backoffDelay(3, options, () => 0)).toBe(400);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(2, options);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(400);
    }
  });

  it('treats a negative attempt as the first', () => {
    expect(backoffDelay(-5, options, () => 0)).toBe(50);
  });
});

describe('resolveReconnectOptions', () => {
  it('fills defaults', () => {
    expect(resolveReconnectOptions()).toEqual({ initialDelayMs: 200, maxDelayMs: 5000 });
  });

  it('rejects nonsense with the field named', () => {
    expect(() => resolveReconnectOptions({ initialDelayMs: 0 })).toThrow(/initialDelayMs/);
    expect(() => resolveReconnectOptions({ initialDelayMs: 500, maxDelayMs: 100 })).toThrow(
      /maxDelayMs/,
    );
  });
});
