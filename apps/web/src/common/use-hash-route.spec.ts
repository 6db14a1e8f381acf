import { parseRoute, sessionHref } from './use-hash-route';

describe('parseRoute', () => {
  it('maps session hashes to the session page, anything else to the list', () => {
    expect(parseRoute('#/sessions/run-1')).toEqual({ page: 'session', sessionId: 'run-1' });
    expect(parseRoute(sessionHref('a b:c'))).toEqual({ page: 'session', sessionId: 'a b:c' });
    expect(parseRoute('')).toEqual({ page: 'sessions' });
    expect(parseRoute('#/nope')).toEqual({ page: 'sessions' });
    expect(parseRoute('#/sessions/%E0%A4%A')).toEqual({ page: 'sessions' });
  });
});
