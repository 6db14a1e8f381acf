import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  GetSignInOptionsResponseSchema,
  IdentitySchema,
  SignInResponseSchema,
  WhoAmIResponseSchema,
  type GetSignInOptionsResponse,
  type SetUpFirstAdminRequest,
  type SignInRequest,
  type SignInResponse,
  type WhoAmIResponse,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { AUTH_STORE } from './auth-tokens';
import { AuthInputError, type AuthStore } from './auth-store';
import { unauthenticated } from './authenticator';
import { CredentialWatch } from './credential-watch';
import type { Identity } from './identity';
import { roleToProto } from './roles';
import { MAX_PASSWORD_LENGTH, newSecret, secretHash } from './secrets';

/** Shortest password SetUpFirstAdmin accepts. */
export const MIN_PASSWORD_LENGTH = 8;

/**
 * Sign-in, sign-out and the first admin: the AuthService rpcs, shared by
 * both transports (they differ only in where the token travels).
 */
@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');
  /**
   * Hash of ADMIN_TOKEN while there are no users. A token printed at start is
   * kept in the store instead, so every replica sharing it accepts the token
   * whichever one printed it (Envoy may send "Set up" to any of them).
   */
  private adminTokenHash: string | undefined;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    @Inject(AUTH_STORE) private readonly store: AuthStore | null,
    private readonly credentials: CredentialWatch,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.settings.auth !== 'required' || this.store === null) return;
    if ((await this.store.userCount()) > 0) {
      // An admin was made elsewhere (the CLI, another replica): tokens printed earlier are void.
      await this.store.clearSetupTokens();
      return;
    }
    if (this.settings.adminToken !== '') {
      this.adminTokenHash = secretHash(this.settings.adminToken);
      this.logger.warn(
        'no users yet: create the first admin with ADMIN_TOKEN (sign-in page or `npm run admin`)',
      );
      return;
    }
    // Printed once, to the terminal of whoever started the server: the one secret that is.
    const token = newSecret('twsetup_');
    await this.store.addSetupToken(secretHash(token));
    process.stdout.write(
      `trainwatch server: no users yet. One-time setup token for the first admin (sign-in page, "Set up"): ${token}\n`,
    );
  }

  private requireStore(): AuthStore {
    if (this.store === null) throw errors.failedPrecondition('this server runs with AUTH=off');
    return this.store;
  }

  async signIn(request: SignInRequest): Promise<{ response: SignInResponse; token: string }> {
    if (request.password.length > MAX_PASSWORD_LENGTH) {
      throw errors.invalidArgument(`password is longer than ${MAX_PASSWORD_LENGTH} characters`);
    }
    const result = await this.requireStore().signIn(
      request.userName,
      request.password,
      this.settings.authSessionTtlMs,
    );
    if (result === undefined) throw unauthenticated('user name or password is wrong');
    return {
      token: result.token,
      response: create(SignInResponseSchema, {
        identity: identityMessage(result.identity),
        sessionToken: result.token,
        expiresAtMs: BigInt(result.expiresAtMs),
      }),
    };
  }

  async signOut(identity: Identity): Promise<void> {
    if (identity.kind !== 'user') return;
    await this.requireStore().signOut(identity.tokenHash);
    // The watches this sign-in opened end now (UNAUTHENTICATED), not at the next periodic check.
    await this.credentials.checkNow();
  }

  async getSignInOptions(): Promise<GetSignInOptionsResponse> {
    const required = this.settings.auth === 'required' && this.store !== null;
    return create(GetSignInOptionsResponseSchema, {
      authRequired: required,
      firstAdminNeeded: required && (await this.store?.userCount()) === 0,
    });
  }

  whoAmI(identity: Identity): WhoAmIResponse {
    return create(WhoAmIResponseSchema, {
      identity: identityMessage(identity),
      authRequired: this.settings.auth === 'required',
    });
  }

  async setUpFirstAdmin(
    request: SetUpFirstAdminRequest,
  ): Promise<{ response: SignInResponse; token: string }> {
    const store = this.requireStore();
    if ((await store.userCount()) > 0) {
      this.adminTokenHash = undefined;
      throw errors.failedPrecondition('the first admin exists already; sign in instead');
    }
    if (!(await this.isSetupToken(store, request.setupToken))) {
      throw unauthenticated('the setup token is wrong');
    }
    if (
      request.password.length < MIN_PASSWORD_LENGTH ||
      request.password.length > MAX_PASSWORD_LENGTH
    ) {
      throw errors.invalidArgument(
        `password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
      );
    }
    try {
      await store.createUser(request.userName, 'admin', request.password);
    } catch (error) {
      if (error instanceof AuthInputError) throw errors.invalidArgument(error.message);
      throw error;
    }
    this.adminTokenHash = undefined;
    await store.clearSetupTokens();
    return this.signIn({ userName: request.userName, password: request.password } as SignInRequest);
  }

  /** ADMIN_TOKEN (compared in constant time), or a token some replica printed (looked up by hash). */
  private async isSetupToken(store: AuthStore, token: string): Promise<boolean> {
    if (token === '') return false;
    const presented = secretHash(token);
    const admin = this.adminTokenHash;
    if (admin !== undefined && timingSafeEqual(Buffer.from(presented), Buffer.from(admin))) {
      return true;
    }
    return store.isSetupToken(presented);
  }
}

function identityMessage(identity: Identity) {
  return create(IdentitySchema, {
    userName: identity.userName,
    role: identity.kind === 'key' ? 0 : roleToProto(identity.role),
  });
}
