import { Inject, Injectable } from '@nestjs/common';
import { errors } from '../common/app-error';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { accessFor, methodKey } from './access-policy';
import { AUTH_STORE } from './auth-tokens';
import type { AuthStore } from './auth-store';
import { KeyLimits } from './key-limits';
import { ANONYMOUS, UNAUTHENTICATED_CALLER, type Identity } from './identity';
import { roleAllows } from './roles';

/** Name of the httpOnly cookie that carries a browser's session token. */
export const SESSION_COOKIE = 'trainwatch_session';

/** What a call presents: its `authorization` header/metadata and, over HTTP, its cookies. */
export interface Credentials {
  authorization?: string | undefined;
  cookie?: string | undefined;
}

export const { unauthenticated, permissionDenied } = errors;

/** The bearer secret of a call: `authorization: Bearer <secret>`, else the session cookie. */
export function presentedSecret({ authorization, cookie }: Credentials): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (bearer?.[1] !== undefined) return bearer[1];
  for (const part of (cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE && value.length > 0) return value.join('=');
  }
  return undefined;
}

/**
 * The one check every call goes through, on both transports (grpc-auth.ts
 * for native gRPC, the gRPC-Web interceptor in http/grpc-web.ts): who is
 * calling, and may they call this method. Errors name what is missing and
 * never echo the secret presented.
 */
@Injectable()
export class Authenticator {
  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    @Inject(AUTH_STORE) private readonly store: AuthStore | null,
    private readonly limits: KeyLimits,
  ) {}

  get required(): boolean {
    return this.settings.auth === 'required';
  }

  /** The caller's identity if `path` is theirs to call; UNAUTHENTICATED or PERMISSION_DENIED otherwise. */
  async authorize(path: string, credentials: Credentials): Promise<Identity> {
    if (!this.required || this.store === null) return ANONYMOUS;
    const access = accessFor(path);
    const method = methodKey(path);
    if (access === undefined) throw permissionDenied(`${method} has no access rule on this server`);
    const secret = presentedSecret(credentials);
    if (access.kind === 'public') {
      return (
        (secret === undefined ? undefined : await this.store.identify(secret)) ??
        UNAUTHENTICATED_CALLER
      );
    }
    if (secret === undefined) {
      throw unauthenticated(
        access.kind === 'trainer'
          ? `${method} needs an API key: send metadata "authorization: Bearer <key>" (TRAINWATCH_API_KEY in the SDKs)`
          : `${method} needs you to sign in (or "authorization: Bearer <session token>")`,
      );
    }
    const identity = await this.store.identify(secret);
    if (identity === undefined) {
      throw unauthenticated(
        'the API key or session token presented is unknown, revoked or expired',
      );
    }
    if (access.kind === 'trainer') {
      if (identity.kind !== 'key') {
        throw permissionDenied(
          `${method} is for trainers: it takes an API key, not a sign-in session`,
        );
      }
      if (method === 'TelemetryService/StreamMetrics') {
        const refused = this.limits.admitStreamOpen(identity.keyId);
        if (refused !== undefined) throw refused;
      }
      return identity;
    }
    if (identity.kind !== 'user') {
      throw permissionDenied(
        `${method} is for people who sign in: an API key may only call TelemetryService`,
      );
    }
    if (!roleAllows(identity.role, access.role)) {
      throw permissionDenied(
        `${identity.userName} is a${identity.role === 'admin' || identity.role === 'operator' ? 'n' : ''} ${identity.role}; ${method} needs the ${access.role} role`,
      );
    }
    return identity;
  }
}
