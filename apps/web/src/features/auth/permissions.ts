import { Code, ConnectError } from '@connectrpc/connect';
import { Role } from '@trainwatch/proto';

/** What a control in the page does, as far as roles are concerned. */
export type GuardedAction = 'command' | 'edit' | 'acknowledge' | 'delete' | 'admin';

/** The least role each action needs: the server's access table (auth/access-policy.ts), as the page shows it. */
const NEEDS: Record<GuardedAction, Role> = {
  command: Role.OPERATOR,
  edit: Role.OPERATOR,
  acknowledge: Role.OPERATOR,
  delete: Role.ADMIN,
  admin: Role.ADMIN,
};

/** Why a control is disabled, in words a person can act on. */
const WHY: Record<GuardedAction, string> = {
  command: 'viewers cannot send commands; ask an admin for the operator role',
  edit: 'viewers cannot edit runs; ask an admin for the operator role',
  acknowledge: 'viewers cannot acknowledge alerts; ask an admin for the operator role',
  delete: 'only admins can delete runs',
  admin: 'only admins can manage users and API keys',
};

export type Permission = { allowed: true } | { allowed: false; reason: string };

/** Whether `role` may do `action`; undefined role means AUTH=off (everyone may do everything). */
export function permissionFor(role: Role | undefined, action: GuardedAction): Permission {
  return role === undefined || role >= NEEDS[action]
    ? { allowed: true }
    : { allowed: false, reason: WHY[action] };
}

export const ROLE_LABEL: Record<Role, string> = {
  [Role.UNSPECIFIED]: 'no role',
  [Role.VIEWER]: 'viewer',
  [Role.OPERATOR]: 'operator',
  [Role.ADMIN]: 'admin',
};

/**
 * PERMISSION_DENIED and UNAUTHENTICATED in words; undefined for any other
 * error (the caller describes those in its own terms).
 */
export function describeAccessError(error: unknown): string | undefined {
  const connectError = ConnectError.from(error);
  switch (connectError.code) {
    case Code.PermissionDenied:
      return `not allowed: ${connectError.rawMessage}`;
    case Code.Unauthenticated:
      return `not signed in: ${connectError.rawMessage}`;
    default:
      return undefined;
  }
}
