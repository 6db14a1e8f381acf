import { Role } from '@trainwatch/proto';
import { useAuth } from '../hooks/use-auth';
import { ROLE_LABEL } from '../permissions';

/** The signed-in person and their role, the admin page for admins, and Sign out; nothing with AUTH=off. */
export function UserMenu() {
  const { state, signOut } = useAuth();
  if (state.kind !== 'signed-in') return null;
  return (
    <span className="user-menu">
      {state.role === Role.ADMIN && (
        <a href="#/admin" data-testid="admin-link">
          Users and keys
        </a>
      )}
      <span data-testid="current-user">{state.userName}</span>
      <span className="small muted" data-testid="current-role">
        {ROLE_LABEL[state.role]}
      </span>
      <button
        type="button"
        data-testid="sign-out"
        onClick={() => {
          // The next person to sign in here starts from the runs, not from this person's page.
          window.location.hash = '#/';
          void signOut();
        }}
      >
        Sign out
      </button>
    </span>
  );
}
