import { DeferredCalls } from './deferred-calls';

const fail = (error: unknown) => {
  throw error;
};
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('DeferredCalls', () => {
  it('runs calls after the current turn, in order', async () => {
    const calls = new DeferredCalls(10, fail);
    const ran: number[] = [];
    calls.defer(() => ran.push(1));
    calls.defer(() => ran.push(2));
    expect(ran).toEqual([]);
    expect(calls.size).toBe(2);
    await turn();
    expect(ran).toEqual([1, 2]);
    expect(calls.size).toBe(0);
  });

  it('at its bound runs every waiting call on the caller path: it never holds more', () => {
    const calls = new DeferredCalls(3, fail);
    const ran: number[] = [];
    calls.defer(() => ran.push(1));
    calls.defer(() => ran.push(2));
    expect(ran).toEqual([]);
    calls.defer(() => ran.push(3));
    expect(ran).toEqual([1, 2, 3]);
    expect(calls.size).toBe(0);
  });

  it('drain() runs waiting calls first; a call made while they run keeps its place', () => {
    const calls = new DeferredCalls(10, fail);
    const ran: string[] = [];
    calls.defer(() => {
      // What a deferred call itself sends: drain() is a no-op inside, so it is not reordered.
      calls.drain();
      ran.push('a');
    });
    calls.defer(() => ran.push('b'));
    calls.drain();
    ran.push('after');
    expect(ran).toEqual(['a', 'b', 'after']);
  });

  it('a call that throws is reported; the others still run', () => {
    const errors: unknown[] = [];
    const calls = new DeferredCalls(10, (error) => errors.push(error));
    const ran: number[] = [];
    calls.defer(() => {
      throw new Error('bad batch');
    });
    calls.defer(() => ran.push(2));
    calls.drain();
    expect(ran).toEqual([2]);
    expect(errors).toEqual([new Error('bad batch')]);
  });
});
