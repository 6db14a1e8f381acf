import type { Kysely } from 'kysely';
import type { Database } from '../store/schema';
import type { Identity } from './identity';
import { isRoleName, type RoleName } from './roles';
import {
  API_KEY_PREFIX,
  DUMMY_PASSWORD_HASH,
  hashPassword,
  newId,
  newSecret,
  secretHash,
  SESSION_TOKEN_PREFIX,
  verifyPassword,
} from './secrets';

/** Longest user or key name. */
export const MAX_AUTH_NAME_LENGTH = 64;
const NAME = /^[A-Za-z0-9._@-]+$/;

export interface UserRow {
  id: string;
  name: string;
  role: RoleName;
  createdAtMs: number;
}

export interface KeyRow {
  id: string;
  userName: string;
  name: string;
  createdAtMs: number;
  revokedAtMs: number | null;
}

/** A name the CLI or a caller gave was not acceptable; the message says why. */
export class AuthInputError extends Error {}

function checkName(what: string, name: string): void {
  if (name.length === 0 || name.length > MAX_AUTH_NAME_LENGTH || !NAME.test(name)) {
    throw new AuthInputError(
      `${what} ${JSON.stringify(name)} is invalid: 1 to ${MAX_AUTH_NAME_LENGTH} letters, digits, or . _ @ -`,
    );
  }
}

/**
 * Users, API keys and sign-in sessions in the store. Every lookup reads the
 * database (no cache): a revoked key, a deleted session or a changed role
 * takes effect on the next call.
 */
export class AuthStore {
  constructor(private readonly db: Kysely<Database>) {}

  async userCount(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Keeps a one-time setup token (its hash): every server sharing this store
   * accepts it for the first admin, whichever replica printed it.
   */
  async addSetupToken(tokenHash: string, now = Date.now()): Promise<void> {
    await this.db
      .insertInto('setup_tokens')
      .values({ token_hash: tokenHash, created_at_ms: now })
      .onConflict((oc) => oc.column('token_hash').doNothing())
      .execute();
  }

  async isSetupToken(tokenHash: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('setup_tokens')
      .select('token_hash')
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Once an admin exists no setup token is any use: none is kept. */
  async clearSetupTokens(): Promise<void> {
    await this.db.deleteFrom('setup_tokens').execute();
  }

  async createUser(
    name: string,
    role: RoleName,
    password: string,
    now = Date.now(),
  ): Promise<UserRow> {
    checkName('user name', name);
    const existing = await this.db
      .selectFrom('users')
      .select('id')
      .where('name', '=', name)
      .executeTakeFirst();
    if (existing !== undefined)
      throw new AuthInputError(`user ${JSON.stringify(name)} already exists`);
    const row = {
      id: newId(),
      name,
      role,
      password_hash: password === '' ? '' : await hashPassword(password),
      created_at_ms: now,
    };
    await this.db.insertInto('users').values(row).execute();
    return { id: row.id, name, role, createdAtMs: now };
  }

  async setRole(name: string, role: RoleName): Promise<void> {
    const result = await this.db
      .updateTable('users')
      .set({ role })
      .where('name', '=', name)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n)
      throw new AuthInputError(`no user named ${JSON.stringify(name)}`);
  }

  async setPassword(name: string, password: string): Promise<void> {
    const password_hash = await hashPassword(password);
    const result = await this.db
      .updateTable('users')
      .set({ password_hash })
      .where('name', '=', name)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n)
      throw new AuthInputError(`no user named ${JSON.stringify(name)}`);
  }

  async listUsers(): Promise<UserRow[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      role: isRoleName(row.role) ? row.role : 'viewer',
      createdAtMs: Number(row.created_at_ms),
    }));
  }

  /** A new API key for `userName`; the secret is returned once and only its hash is kept. */
  async createKey(
    userName: string,
    keyName: string,
    now = Date.now(),
  ): Promise<{ id: string; secret: string }> {
    if (keyName !== '') checkName('key name', keyName);
    const user = await this.db
      .selectFrom('users')
      .select('id')
      .where('name', '=', userName)
      .executeTakeFirst();
    if (user === undefined) throw new AuthInputError(`no user named ${JSON.stringify(userName)}`);
    const id = newId();
    const secret = newSecret(API_KEY_PREFIX);
    await this.db
      .insertInto('api_keys')
      .values({
        id,
        user_id: user.id,
        name: keyName,
        secret_hash: secretHash(secret),
        created_at_ms: now,
        revoked_at_ms: null,
      })
      .execute();
    return { id, secret };
  }

  async revokeKey(id: string, now = Date.now()): Promise<void> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at_ms: now })
      .where('id', '=', id)
      .where('revoked_at_ms', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n)
      throw new AuthInputError(`no active API key with id ${JSON.stringify(id)}`);
  }

  async listKeys(): Promise<KeyRow[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .select([
        'api_keys.id',
        'api_keys.name',
        'api_keys.created_at_ms',
        'api_keys.revoked_at_ms',
        'users.name as user_name',
      ])
      .orderBy('api_keys.created_at_ms')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      userName: row.user_name,
      createdAtMs: Number(row.created_at_ms),
      revokedAtMs: row.revoked_at_ms === null ? null : Number(row.revoked_at_ms),
    }));
  }

  /** Of `ids`, the keys that exist and are not revoked (one query, for CredentialWatch). */
  async activeKeyIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('api_keys')
      .select('id')
      .where('id', 'in', [...ids])
      .where('revoked_at_ms', 'is', null)
      .execute();
    return new Set(rows.map((row) => row.id));
  }

  /** Of `hashes`, the sign-in sessions that exist and have not expired (one query). */
  async activeSessionHashes(hashes: readonly string[], now = Date.now()): Promise<Set<string>> {
    if (hashes.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('auth_sessions')
      .select('token_hash')
      .where('token_hash', 'in', [...hashes])
      .where('expires_at_ms', '>', now)
      .execute();
    return new Set(rows.map((row) => row.token_hash));
  }

  /** One key by id (never its secret); undefined if there is none. */
  async keyById(id: string): Promise<KeyRow | undefined> {
    return (await this.listKeys()).find((key) => key.id === id);
  }

  /** One user by name; undefined if there is none. */
  async userByName(name: string): Promise<UserRow | undefined> {
    return (await this.listUsers()).find((user) => user.name === name);
  }

  /** Checks a password; a new session token (returned once) on success, undefined otherwise. */
  async signIn(
    name: string,
    password: string,
    ttlMs: number,
    now = Date.now(),
  ): Promise<{ token: string; identity: Identity; expiresAtMs: number } | undefined> {
    const user = await this.db
      .selectFrom('users')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    // An unknown user costs the same scrypt as a wrong password: timing does not tell which.
    const matches = await verifyPassword(password, user?.password_hash || DUMMY_PASSWORD_HASH);
    if (user === undefined || !matches || !isRoleName(user.role)) return undefined;
    const token = newSecret(SESSION_TOKEN_PREFIX);
    const tokenHash = secretHash(token);
    const expiresAtMs = now + ttlMs;
    await this.db
      .insertInto('auth_sessions')
      .values({
        token_hash: tokenHash,
        user_id: user.id,
        created_at_ms: now,
        expires_at_ms: expiresAtMs,
      })
      .execute();
    // Expired sessions of anyone are cleared as people sign in, so the table stays small.
    await this.db.deleteFrom('auth_sessions').where('expires_at_ms', '<=', now).execute();
    return {
      token,
      expiresAtMs,
      identity: { kind: 'user', userId: user.id, userName: user.name, role: user.role, tokenHash },
    };
  }

  async signOut(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('auth_sessions').where('token_hash', '=', tokenHash).execute();
  }

  /** The identity a bearer secret (API key or session token) stands for; undefined if none. */
  async identify(secret: string, now = Date.now()): Promise<Identity | undefined> {
    const hash = secretHash(secret);
    if (secret.startsWith(API_KEY_PREFIX)) {
      const key = await this.db
        .selectFrom('api_keys')
        .innerJoin('users', 'users.id', 'api_keys.user_id')
        .select(['api_keys.id', 'api_keys.user_id', 'users.name'])
        .where('api_keys.secret_hash', '=', hash)
        .where('api_keys.revoked_at_ms', 'is', null)
        .executeTakeFirst();
      return key === undefined
        ? undefined
        : { kind: 'key', keyId: key.id, userId: key.user_id, userName: key.name };
    }
    const session = await this.db
      .selectFrom('auth_sessions')
      .innerJoin('users', 'users.id', 'auth_sessions.user_id')
      .select(['users.id', 'users.name', 'users.role'])
      .where('auth_sessions.token_hash', '=', hash)
      .where('auth_sessions.expires_at_ms', '>', now)
      .executeTakeFirst();
    if (session === undefined || !isRoleName(session.role)) return undefined;
    return {
      kind: 'user',
      userId: session.id,
      userName: session.name,
      role: session.role,
      tokenHash: hash,
    };
  }
}
