import { parseRoute, sessionHref } from './use-hash-route';

describe('parseRoute', () => {
  it('maps session hashes to the session page, anything else to the list', () => {
    expect(parseRoute('#/sessions/run-1')).toEqual({ page: 'session', sessionId: 'run-1' });
    expect(parseRoute(sessionHref('a b:c'))).toEqual({ page: 'session', sessionId: 'a b:c' });
    expect(parseRoute('')).toEqual({ page: 'sessions' });
    expect(parseRoute('#/nope')).toEqual({ page: 'sessions' });
    expect(parseRoute('#/sessions/%E0%A4%A')).toEqual({ page: 'sessions' });
  });

  it('keeps the chart view parameters out of the route', () => {
    expect(parseRoute('#/sessions/run-1?x=wall&step=40')).toEqual({
      page: 'session',
      sessionId: 'run-1',
    });
    expect(parseRoute('#/compare?runs=a,b&zoom=1~2&hide=b')).toEqual({
      page: 'compare',
      sessionIds: ['a', 'b'],
    });
    // Links written before the view was in the URL.
    expect(parseRoute('#/compare?runs=a%2Fb,c')).toEqual({
      page: 'compare',
      sessionIds: ['a/b', 'c'],
    });
  });
});
