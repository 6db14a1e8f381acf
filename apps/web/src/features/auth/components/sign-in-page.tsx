import { Code, ConnectError } from '@connectrpc/connect';
import { useState, type FormEvent } from 'react';
import { useAuth } from '../hooks/use-auth';
import './sign-in-page.css';

/** The server's refusal in words for this form. */
function describeSignInError(error: unknown): string {
  const connectError = ConnectError.from(error);
  switch (connectError.code) {
    case Code.Unauthenticated:
      return connectError.rawMessage || 'user name or password is wrong';
    case Code.Unavailable:
      return `the server cannot be reached (${connectError.rawMessage})`;
    default:
      return connectError.rawMessage || Code[connectError.code];
  }
}

/**
 * Sign-in (user name and password), or, while the server has no users,
 * setting up the first admin with the setup token (ADMIN_TOKEN, or the
 * one-time token the server printed when it started).
 */
export function SignInPage() {
  const { state, signIn, setUpFirstAdmin } = useAuth();
  const setUp = state.kind === 'signed-out' && state.firstAdminNeeded;
  const [setupToken, setSetupToken] = useState('');
  const [userName, setUserName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    (setUp ? setUpFirstAdmin(setupToken, userName, password) : signIn(userName, password))
      .catch((failure: unknown) => setError(describeSignInError(failure)))
      .finally(() => setBusy(false));
  };

  return (
    <main className="page sign-in" data-testid={setUp ? 'setup-page' : 'sign-in-page'}>
      <form className="sign-in-form" onSubmit={submit}>
        <h1>{setUp ? 'Set up the first admin' : 'Sign in'}</h1>
        {state.kind === 'signed-out' && state.notice && (
          <p className="notice" role="status" data-testid="sign-in-notice">
            {state.notice}
          </p>
        )}
        {setUp && (
          <>
            <p className="small muted">
              This server has no users yet. Enter the setup token (the server&apos;s ADMIN_TOKEN
              setting, or the one-time token it printed when it started) and choose the admin&apos;s
              name and password.
            </p>
            <label>
              Setup token
              <input
                data-testid="setup-token"
                type="password"
                autoComplete="off"
                value={setupToken}
                onChange={(event) => setSetupToken(event.target.value)}
              />
            </label>
          </>
        )}
        <label>
          User name
          <input
            data-testid="sign-in-user"
            autoComplete="username"
            value={userName}
            onChange={(event) => setUserName(event.target.value)}
          />
        </label>
        <label>
          Password
          <input
            data-testid="sign-in-password"
            type="password"
            autoComplete={setUp ? 'new-password' : 'current-password'}
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        <button type="submit" data-testid="sign-in-submit" disabled={busy}>
          {setUp ? 'Create admin and sign in' : 'Sign in'}
        </button>
        {error && (
          <p className="error" role="alert" data-testid="sign-in-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
