import type { Transport } from '@connectrpc/connect';
import { useHashRoute } from './common/use-hash-route';
import { AdminPage } from './features/admin/admin-page';
import { AuthProvider } from './features/auth/components/auth-provider';
import { SignedInOnly } from './features/auth/components/signed-in-only';
import { UserMenu } from './features/auth/components/user-menu';
import { ComparePage } from './features/compare/compare-page';
import { SessionsPage } from './features/sessions/components/sessions-page';
import { SessionPage } from './features/session/components/session-page';
import { StoreStatusBanner } from './features/store-status/store-status';

/** The whole dashboard: the session list, or one session, by location hash; sign-in first when the server asks for it. */
export function App({ transport }: { transport: Transport }) {
  const route = useHashRoute();
  return (
    <AuthProvider transport={transport}>
      <nav className="topbar">
        <a href="#/" className="brand">
          trainwatch
        </a>
        <UserMenu />
      </nav>
      <StoreStatusBanner />
      <SignedInOnly>
        {route.page === 'admin' ? (
          <AdminPage />
        ) : route.page === 'compare' ? (
          <ComparePage key={route.sessionIds.join(',')} sessionIds={route.sessionIds} />
        ) : route.page === 'session' ? (
          // Keyed so another session gets a fresh store and stream.
          <SessionPage key={route.sessionId} sessionId={route.sessionId} />
        ) : (
          <SessionsPage />
        )}
      </SignedInOnly>
    </AuthProvider>
  );
}
