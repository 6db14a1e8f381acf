import { useContext } from 'react';
import { AuthContext, type AuthApi } from '../auth-context';
import { permissionFor, type GuardedAction, type Permission } from '../permissions';

export function useAuth(): AuthApi {
  return useContext(AuthContext);
}

/** Whether the signed-in person may do `action`, and if not, why (always allowed with AUTH=off). */
export function usePermission(action: GuardedAction): Permission {
  const { state } = useAuth();
  return permissionFor(state.kind === 'signed-in' ? state.role : undefined, action);
}
