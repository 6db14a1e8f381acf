import { create } from '@bufbuild/protobuf';
import { QuerySeriesResponseSchema } from '@trainwatch/proto';
import { SeriesAnswerCache } from './series-answer-cache';

const answer = () => create(QuerySeriesResponseSchema);

describe('SeriesAnswerCache', () => {
  it('keeps answers within its byte bound, least recently used dropped first', () => {
    const cache = new SeriesAnswerCache(100);
    const a = answer();
    cache.set('a\u00001', a, 40);
    cache.set('b\u00001', answer(), 40);
    expect(cache.get('a\u00001')).toBe(a);
    // c pushes out b (a was used since).
    cache.set('c\u00001', answer(), 40);
    expect(cache.get('b\u00001')).toBeUndefined();
    expect(cache.get('a\u00001')).toBe(a);
    expect(cache.bytes).toBe(80);
    // Larger than the whole cache: not kept, nothing dropped.
    cache.set('d\u00001', answer(), 101);
    expect(cache.size).toBe(2);
    // Replacing an entry counts its bytes once.
    cache.set('a\u00001', a, 50);
    expect(cache.bytes).toBe(90);
  });

  it('drops every answer of a run, and keeps nothing at size 0', () => {
    const cache = new SeriesAnswerCache(1000);
    cache.set('run-1\u0000x', answer(), 10);
    cache.set('run-1\u0000y', answer(), 10);
    cache.set('run-10\u0000x', answer(), 10);
    cache.dropRun('run-1');
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(10);
    const off = new SeriesAnswerCache(0);
    off.set('k', answer(), 1);
    expect(off.size).toBe(0);
    expect(() => new SeriesAnswerCache(-1)).toThrow(/maxBytes must be/);
  });
});
