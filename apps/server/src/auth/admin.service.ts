import { Inject, Injectable } from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import {
  ApiKeySchema,
  CreateApiKeyResponseSchema,
  ListApiKeysResponseSchema,
  ListUsersResponseSchema,
  UserSchema,
  type ApiKey,
  type CreateApiKeyRequest,
  type CreateApiKeyResponse,
  type CreateUserRequest,
  type ListApiKeysResponse,
  type ListUsersResponse,
  type RevokeApiKeyRequest,
  type SetUserRoleRequest,
  type User,
} from '@trainwatch/proto';
import { errors } from '../common/app-error';
import { AUTH_STORE } from './auth-tokens';
import { AuthInputError, type AuthStore, type KeyRow, type UserRow } from './auth-store';
import { MIN_PASSWORD_LENGTH } from './auth.service';
import { CredentialWatch } from './credential-watch';
import { roleFromProto, roleToProto, type RoleName } from './roles';
import { MAX_PASSWORD_LENGTH } from './secrets';

/**
 * The AdminService rpcs, for both transports: users, roles and API keys,
 * on the same AuthStore the admin CLI uses. Who may call them (admins) is
 * decided by the access table before any of this runs.
 */
@Injectable()
export class UserAdminService {
  constructor(
    @Inject(AUTH_STORE) private readonly store: AuthStore | null,
    private readonly credentials: CredentialWatch,
  ) {}

  private requireStore(): AuthStore {
    if (this.store === null) {
      throw errors.failedPrecondition('this server runs with AUTH=off: there are no users');
    }
    return this.store;
  }

  async listUsers(): Promise<ListUsersResponse> {
    const users = await this.requireStore().listUsers();
    return create(ListUsersResponseSchema, { users: users.map(userMessage) });
  }

  async createUser(request: CreateUserRequest): Promise<User> {
    const role = requireRole(request.role);
    if (
      request.password.length < MIN_PASSWORD_LENGTH ||
      request.password.length > MAX_PASSWORD_LENGTH
    ) {
      throw errors.invalidArgument(
        `password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
      );
    }
    return userMessage(
      await inputErrors(() =>
        this.requireStore().createUser(request.userName, role, request.password),
      ),
    );
  }

  async setUserRole(request: SetUserRoleRequest): Promise<User> {
    const role = requireRole(request.role);
    const store = this.requireStore();
    await inputErrors(() => store.setRole(request.userName, role));
    const user = await store.userByName(request.userName);
    if (user === undefined)
      throw errors.notFound(`no user named ${JSON.stringify(request.userName)}`);
    return userMessage(user);
  }

  async listApiKeys(): Promise<ListApiKeysResponse> {
    const keys = await this.requireStore().listKeys();
    return create(ListApiKeysResponseSchema, { keys: keys.map(keyMessage) });
  }

  async createApiKey(request: CreateApiKeyRequest): Promise<CreateApiKeyResponse> {
    const store = this.requireStore();
    const { id, secret } = await inputErrors(() => store.createKey(request.userName, request.name));
    const key = await store.keyById(id);
    return create(CreateApiKeyResponseSchema, {
      key: key === undefined ? undefined : keyMessage(key),
      secret,
    });
  }

  async revokeApiKey(request: RevokeApiKeyRequest): Promise<ApiKey> {
    const store = this.requireStore();
    await inputErrors(() => store.revokeKey(request.keyId));
    // Streams open with the key end now, not at the next periodic check.
    await this.credentials.checkNow();
    const key = await store.keyById(request.keyId);
    if (key === undefined)
      throw errors.notFound(`no API key with id ${JSON.stringify(request.keyId)}`);
    return keyMessage(key);
  }
}

function requireRole(role: number): RoleName {
  const name = roleFromProto(role);
  if (name === undefined) throw errors.invalidArgument('role must be viewer, operator or admin');
  return name;
}

/** The store's input errors (a taken name, an unknown user or key) as INVALID_ARGUMENT. */
async function inputErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AuthInputError) throw errors.invalidArgument(error.message);
    throw error;
  }
}

function userMessage(user: UserRow): User {
  return create(UserSchema, {
    userName: user.name,
    role: roleToProto(user.role),
    createdAtMs: BigInt(user.createdAtMs),
  });
}

function keyMessage(key: KeyRow): ApiKey {
  return create(ApiKeySchema, {
    keyId: key.id,
    userName: key.userName,
    name: key.name,
    createdAtMs: BigInt(key.createdAtMs),
    revokedAtMs: BigInt(key.revokedAtMs ?? 0),
  });
}
