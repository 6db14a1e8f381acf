import type { RoleName } from './roles';

/**
 * Who a call comes from, as the server established it (never the client's
 * word): a signed-in person, a trainer's API key, or, with AUTH=off, anyone.
 */
export type Identity =
  | { kind: 'anonymous'; userName: string; role: RoleName }
  | { kind: 'user'; userId: string; userName: string; role: RoleName; tokenHash: string }
  | { kind: 'key'; keyId: string; userId: string; userName: string };

/** Every caller with AUTH=off: allowed everything, as before auth existed. */
export const ANONYMOUS: Identity = { kind: 'anonymous', userName: '', role: 'admin' };

/** A caller of a public method (SignIn, health) on a server with AUTH=required. */
export const UNAUTHENTICATED_CALLER: Identity = {
  kind: 'anonymous',
  userName: '',
  role: 'viewer',
};
