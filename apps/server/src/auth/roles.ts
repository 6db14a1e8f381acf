import { Role } from '@trainwatch/proto';

/** A person's role, as stored (users.role). Each includes the ones before it. */
export type RoleName = 'viewer' | 'operator' | 'admin';

export const ROLE_NAMES: readonly RoleName[] = ['viewer', 'operator', 'admin'];

export function isRoleName(value: string): value is RoleName {
  return (ROLE_NAMES as readonly string[]).includes(value);
}

/** True when `held` includes everything `needed` may do. */
export function roleAllows(held: RoleName, needed: RoleName): boolean {
  return ROLE_NAMES.indexOf(held) >= ROLE_NAMES.indexOf(needed);
}

export function roleToProto(role: RoleName): Role {
  switch (role) {
    case 'viewer':
      return Role.VIEWER;
    case 'operator':
      return Role.OPERATOR;
    case 'admin':
      return Role.ADMIN;
  }
}

/** A Role from the contract as a stored role name; undefined for ROLE_UNSPECIFIED or an unknown value. */
export function roleFromProto(role: Role): RoleName | undefined {
  switch (role) {
    case Role.VIEWER:
      return 'viewer';
    case Role.OPERATOR:
      return 'operator';
    case Role.ADMIN:
      return 'admin';
    default:
      return undefined;
  }
}
