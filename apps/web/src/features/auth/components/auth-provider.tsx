import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { AuthService, Role, type SignInResponse } from '@trainwatch/proto';
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { TransportProvider } from '../../../common/transport-context';
import { AuthContext, type AuthApi, type AuthState } from '../auth-context';
import { reportingUnauthenticated } from '../unauthenticated-transport';

/**
 * Asks the server who we are (WhoAmI) and keeps the answer: AUTH=off, signed
 * out (and whether the first admin is still to be set up), or signed in as a
 * user with a role. The session token lives in an httpOnly cookie the
 * browser sends by itself; script never sees it. Any UNAUTHENTICATED answer
 * while signed in (signed out elsewhere, expired, revoked) returns the page
 * to sign-in. Supplies the transport below it.
 */
export function AuthProvider({
  transport,
  children,
}: {
  transport: Transport;
  children: ReactNode;
}) {
  const [state, setState] = useState<AuthState>({ kind: 'checking' });
  const current = useRef(state);
  current.current = state;
  const auth = useMemo(() => createClient(AuthService, transport), [transport]);

  const toSignedOut = useCallback(
    async (notice?: string) => {
      let firstAdminNeeded = false;
      try {
        firstAdminNeeded = (await auth.getSignInOptions({})).firstAdminNeeded;
      } catch {
        // Sign-in is still offered; its own error will say what is wrong.
      }
      setState({ kind: 'signed-out', firstAdminNeeded, ...(notice ? { notice } : {}) });
    },
    [auth],
  );

  useEffect(() => {
    let live = true;
    auth.whoAmI({}).then(
      (who) => {
        if (!live) return;
        setState(
          who.authRequired
            ? {
                kind: 'signed-in',
                userName: who.identity?.userName ?? '',
                role: who.identity?.role ?? Role.UNSPECIFIED,
              }
            : { kind: 'off' },
        );
      },
      (error: unknown) => {
        if (!live) return;
        if (ConnectError.from(error).code === Code.Unauthenticated) void toSignedOut();
        // A server without AuthService (or unreachable): the pages show their own errors.
        else setState({ kind: 'off' });
      },
    );
    return () => {
      live = false;
    };
  }, [auth, toSignedOut]);

  const pages = useMemo(
    () =>
      reportingUnauthenticated(transport, (message) => {
        if (current.current.kind !== 'signed-in') return;
        current.current = { kind: 'checking' };
        void toSignedOut(`You were signed out: ${message}`);
      }),
    [transport, toSignedOut],
  );

  const signedIn = useCallback((response: SignInResponse) => {
    setState({
      kind: 'signed-in',
      userName: response.identity?.userName ?? '',
      role: response.identity?.role ?? Role.UNSPECIFIED,
    });
  }, []);

  const api = useMemo<AuthApi>(
    () => ({
      state,
      signIn: async (userName, password) => signedIn(await auth.signIn({ userName, password })),
      setUpFirstAdmin: async (setupToken, userName, password) =>
        signedIn(await auth.setUpFirstAdmin({ setupToken, userName, password })),
      signOut: async () => {
        try {
          await auth.signOut({});
        } finally {
          await toSignedOut();
        }
      },
    }),
    [state, auth, signedIn, toSignedOut],
  );

  return (
    <AuthContext.Provider value={api}>
      <TransportProvider transport={pages}>{children}</TransportProvider>
    </AuthContext.Provider>
  );
}
