import { servedMethods, unknownMethodMessage } from './unknown-method';

describe('unknownMethodMessage', () => {
  const served = servedMethods([
    '/a.v1.Alpha/Get',
    '/a.v1.Alpha/Put',
    '/b.Beta/Watch',
    'malformed',
  ]);

  it('groups paths by service, skipping what is not a path', () => {
    expect([...served]).toEqual([
      ['a.v1.Alpha', ['Get', 'Put']],
      ['b.Beta', ['Watch']],
    ]);
  });

  it('lists the services for an unknown service, then where the rest is', () => {
    expect(unknownMethodMessage('/c.Gamma/Run', served, '; more elsewhere')).toBe(
      'unknown service "c.Gamma" (called /c.Gamma/Run); this port serves a.v1.Alpha, b.Beta; more elsewhere',
    );
  });

  it("lists a known service's methods for an unknown method", () => {
    expect(unknownMethodMessage('/a.v1.Alpha/Delete', served)).toBe(
      'a.v1.Alpha has no method "Delete"; its methods are Get, Put',
    );
  });
});
