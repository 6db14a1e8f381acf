import type { ReactNode } from 'react';
import { useAuth } from '../hooks/use-auth';
import { SignInPage } from './sign-in-page';

/** The pages once the person is signed in (or AUTH=off); the sign-in page otherwise. */
export function SignedInOnly({ children }: { children: ReactNode }) {
  const { state } = useAuth();
  switch (state.kind) {
    case 'checking':
      return (
        <main className="page muted" data-testid="auth-checking">
          Checking sign-in…
        </main>
      );
    case 'signed-out':
      return <SignInPage />;
    default:
      return <>{children}</>;
  }
}
