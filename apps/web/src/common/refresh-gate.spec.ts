import { RefreshGate } from './refresh-gate';

describe('RefreshGate', () => {
  // The fake timers' clock, started at 1000 ms: a timer fires with the clock at its due time.
  const clock = () => jest.now();
  beforeEach(() => jest.useFakeTimers({ now: 1000 }));
  afterEach(() => jest.useRealTimers());
  const advance = (ms: number) => jest.advanceTimersByTime(ms);

  /** A value that changes; what the gate lets through is recorded with its time. */
  function gated(intervalMs: number) {
    const shown: number[] = [];
    let pending = false;
    const show = () => {
      pending = false;
      shown.push(clock());
    };
    const gate = new RefreshGate(intervalMs, () => pending && gate.pass() && show(), clock);
    return {
      shown,
      gate,
      change: () => {
        pending = true;
        if (gate.pass()) show();
      },
    };
  }

  it('passes the first change at once, then at most one per interval, the last one at its end', () => {
    const value = gated(250);
    value.change();
    expect(value.shown).toEqual([1000]);
    // Sixty changes a second for half a second: two more shown, at the intervals' ends.
    for (let i = 0; i < 30; i++) {
      advance(16);
      value.change();
    }
    expect(value.shown).toEqual([1000, 1250]);
    advance(250);
    expect(value.shown).toEqual([1000, 1250, 1500]);
    // Nothing changed since: nothing more is shown.
    advance(1000);
    expect(value.shown).toHaveLength(3);
  });

  it('passes a change after a quiet interval at once', () => {
    const value = gated(250);
    value.change();
    advance(400);
    value.change();
    expect(value.shown).toEqual([1000, 1400]);
  });

  it('calls onDue once per held-back interval, however many changes were held', () => {
    let due = 0;
    const gate = new RefreshGate(200, () => due++, clock);
    expect(gate.pass()).toBe(true);
    for (let i = 0; i < 10; i++) expect(gate.pass()).toBe(false);
    advance(199);
    expect(due).toBe(0);
    advance(1);
    expect(due).toBe(1);
    advance(1000);
    expect(due).toBe(1);
  });

  it('dispose drops a pending onDue', () => {
    let due = 0;
    const gate = new RefreshGate(250, () => due++, clock);
    gate.pass();
    gate.pass();
    gate.dispose();
    advance(500);
    expect(due).toBe(0);
  });
});
