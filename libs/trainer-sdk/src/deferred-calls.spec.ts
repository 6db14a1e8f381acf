import { waitFor } from '@trainwatch/testing';
import { DeferredCalls, DRAIN_INTERVAL_MS, IDLE_TICKS_BEFORE_STOP } from './deferred-calls';

const fail = (error: unknown) => {
  throw error;
};
/** Each call's work runs the function it was given (the time is checked in one test). */
const runIt = (work: () => void) => work();
const deferred = (bound: number, onError: (error: unknown) => void = fail) =>
  new DeferredCalls<() => void>(bound, runIt, onError);

describe('DeferredCalls', () => {
  it('runs calls after the current turn, in order, on its ticker', async () => {
    const calls = deferred(10);
    const ran: number[] = [];
    calls.defer(() => ran.push(1), 0);
    calls.defer(() => ran.push(2), 0);
    expect(ran).toEqual([]);
    expect(calls.size).toBe(2);
    expect(calls.ticking).toBe(true);
    await waitFor(() => ran.length === 2, { timeoutMs: 1000, what: 'the deferred calls to run' });
    expect(ran).toEqual([1, 2]);
    expect(calls.size).toBe(0);
    calls.stop();
  });

  it('keeps one ticker while calls come and stops it once idle', async () => {
    const calls = deferred(10);
    const ran: number[] = [];
    calls.defer(() => ran.push(1), 0);
    await waitFor(() => ran.length === 1, { timeoutMs: 1000, what: 'the first call to run' });
    // Still running: the next call only pushes.
    expect(calls.ticking).toBe(true);
    calls.defer(() => ran.push(2), 0);
    await waitFor(() => ran.length === 2, { timeoutMs: 1000, what: 'the second call to run' });
    await waitFor(() => !calls.ticking, {
      timeoutMs: DRAIN_INTERVAL_MS * IDLE_TICKS_BEFORE_STOP * 10,
      what: 'the idle ticker to stop',
    });
    // A call after it stopped starts it again.
    calls.defer(() => ran.push(3), 0);
    expect(calls.ticking).toBe(true);
    await waitFor(() => ran.length === 3, { timeoutMs: 1000, what: 'the third call to run' });
    expect(ran).toEqual([1, 2, 3]);
    calls.stop();
    expect(calls.ticking).toBe(false);
  });

  it('hands each call its argument and time, in order', () => {
    const seen: [string, number][] = [];
    const calls = new DeferredCalls<string>(10, (argument, at) => seen.push([argument, at]), fail);
    calls.defer('first', 1.5);
    calls.defer('second', 2.5);
    calls.stop();
    expect(seen).toEqual([
      ['first', 1.5],
      ['second', 2.5],
    ]);
  });

  it('stop() runs what waits', () => {
    const calls = deferred(10);
    const ran: number[] = [];
    calls.defer(() => ran.push(1), 0);
    calls.stop();
    expect(ran).toEqual([1]);
    expect(calls.ticking).toBe(false);
  });

  it('at its bound runs every waiting call on the caller path: it never holds more', () => {
    const calls = deferred(3);
    const ran: number[] = [];
    calls.defer(() => ran.push(1), 0);
    calls.defer(() => ran.push(2), 0);
    expect(ran).toEqual([]);
    calls.defer(() => ran.push(3), 0);
    expect(ran).toEqual([1, 2, 3]);
    expect(calls.size).toBe(0);
  });

  it('drain() runs waiting calls first; a call made while they run keeps its place', () => {
    const calls = deferred(10);
    const ran: string[] = [];
    calls.defer(() => {
      // What a deferred call itself sends: drain() is a no-op inside, so it is not reordered.
      calls.drain();
      ran.push('a');
    }, 0);
    calls.defer(() => ran.push('b'), 0);
    calls.drain();
    ran.push('after');
    expect(ran).toEqual(['a', 'b', 'after']);
  });

  it('a call deferred while the waiting ones run, even past the bound, runs in the same drain, in order', () => {
    const seen: string[] = [];
    const calls: DeferredCalls<string> = new DeferredCalls<string>(
      2,
      (argument) => {
        seen.push(argument);
        // E.g. an onError callback that logs again: it joins the end of the running drain.
        if (argument === 'a') for (const more of ['c', 'd', 'e']) calls.defer(more, 0);
      },
      fail,
    );
    calls.defer('a', 0);
    calls.defer('b', 0);
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(calls.size).toBe(0);
    // The storage is kept: the next calls wait and run as before.
    calls.defer('f', 1.25);
    expect(calls.size).toBe(1);
    calls.stop();
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('a call that throws is reported; the others still run', () => {
    const errors: unknown[] = [];
    const calls = deferred(10, (error) => errors.push(error));
    const ran: number[] = [];
    calls.defer(() => {
      throw new Error('bad batch');
    }, 0);
    calls.defer(() => ran.push(2), 0);
    calls.drain();
    expect(ran).toEqual([2]);
    expect(errors).toEqual([new Error('bad batch')]);
  });
});
