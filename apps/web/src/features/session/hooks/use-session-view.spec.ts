import { slowedSubscribe } from './use-session-view';

/** A store's subscribe with a way to announce a change, and a clock the test moves. */
function source() {
  const listeners = new Set<() => void>();
  return {
    subscribe: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    change: () => listeners.forEach((listener) => listener()),
    listeners,
  };
}

describe('slowedSubscribe', () => {
  // The fake timers' clock, started at 1000 ms: a timer fires with the clock at its due time.
  const clock = () => jest.now();
  beforeEach(() => jest.useFakeTimers({ now: 1000 }));
  afterEach(() => jest.useRealTimers());
  const advance = (ms: number) => jest.advanceTimersByTime(ms);

  it('passes the first change at once, then at most one per interval, the last one at its end', () => {
    const store = source();
    const heard: number[] = [];
    slowedSubscribe(store.subscribe, 250, clock)(() => heard.push(clock()));

    store.change();
    expect(heard).toEqual([1000]);
    // Sixty changes a second for half a second: two more calls, at the interval's ends.
    for (let i = 0; i < 30; i++) {
      advance(16);
      store.change();
    }
    expect(heard).toEqual([1000, 1250]);
    advance(250);
    expect(heard).toEqual([1000, 1250, 1500]);
    // Nothing changed since: nothing more is delivered.
    advance(1000);
    expect(heard).toHaveLength(3);
  });

  it('delivers a change after a quiet interval at once', () => {
    const store = source();
    const heard: number[] = [];
    slowedSubscribe(store.subscribe, 250, clock)(() => heard.push(clock()));
    store.change();
    advance(400);
    store.change();
    expect(heard).toEqual([1000, 1400]);
  });

  it('unsubscribing drops a pending call and the store listener', () => {
    const store = source();
    const heard: number[] = [];
    const unsubscribe = slowedSubscribe(store.subscribe, 250, clock)(() => heard.push(clock()));
    store.change();
    advance(10);
    store.change();
    unsubscribe();
    advance(500);
    expect(heard).toEqual([1000]);
    expect(store.listeners.size).toBe(0);
  });
});
