import type { Role } from '@trainwatch/proto';
import { createContext } from 'react';

/** Where the page stands with the server's sign-in. */
export type AuthState =
  /** Asking the server (WhoAmI) who we are. */
  | { kind: 'checking' }
  /** The server runs with AUTH=off, or does not serve AuthService: no sign-in, everything allowed. */
  | { kind: 'off' }
  /** AUTH=required and nobody signed in; `notice` says why we are here, if we were signed in before. */
  | { kind: 'signed-out'; firstAdminNeeded: boolean; notice?: string }
  | { kind: 'signed-in'; userName: string; role: Role };

export interface AuthApi {
  state: AuthState;
  signIn(userName: string, password: string): Promise<void>;
  setUpFirstAdmin(setupToken: string, userName: string, password: string): Promise<void>;
  signOut(): Promise<void>;
}

/** Without a provider (component tests) the page behaves as with AUTH=off. */
export const AuthContext = createContext<AuthApi>({
  state: { kind: 'off' },
  signIn: () => Promise.resolve(),
  setUpFirstAdmin: () => Promise.resolve(),
  signOut: () => Promise.resolve(),
});
