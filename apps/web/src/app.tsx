import type { Transport } from '@connectrpc/connect';
import { TransportProvider } from './common/transport-context';
import { useHashRoute } from './common/use-hash-route';
import { ComparePage } from './features/compare/compare-page';
import { SessionsPage } from './features/sessions/components/sessions-page';
import { SessionPage } from './features/session/components/session-page';

/** The whole dashboard: the session list, or one session, by location hash. */
export function App({ transport }: { transport: Transport }) {
  const route = useHashRoute();
  return (
    <TransportProvider transport={transport}>
      <nav className="topbar">
        <a href="#/" className="brand">
          trainwatch
        </a>
      </nav>
      {route.page === 'compare' ? (
        <ComparePage key={route.sessionIds.join(',')} sessionIds={route.sessionIds} />
      ) : route.page === 'session' ? (
        // Keyed so another session gets a fresh store and stream.
        <SessionPage key={route.sessionId} sessionId={route.sessionId} />
      ) : (
        <SessionsPage />
      )}
    </TransportProvider>
  );
}
