import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Secrets the server hands out and checks. API keys and session tokens are
 * 256 random bits, so a plain SHA-256 of them is enough to store (nothing
 * to brute-force); passwords are chosen by people and get scrypt with a
 * per-user salt.
 */

/** Prefix of an API key: recognisable in a config file, and by secret scanners. */
export const API_KEY_PREFIX = 'twk_';
/** Prefix of a sign-in session token. */
export const SESSION_TOKEN_PREFIX = 'tws_';

/** A fresh secret with `prefix`: 32 random bytes, base64url. */
export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** A short random id (users, keys): not secret, shown in lists and used in /metrics labels. */
export function newId(): string {
  return randomBytes(6).toString('hex');
}

/** What the store keeps of a key or token: its SHA-256, hex. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** scrypt cost: N=2^14, r=8, p=1 (16 MiB, ~50 ms), node:crypto's default, recorded per hash. */
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32, saltBytes: 16 } as const;
/** Longest accepted password; scrypt's work grows with input only slightly, but a bound is named. */
export const MAX_PASSWORD_LENGTH = 1024;

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, SCRYPT.keyLength, { N, r, p, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** scrypt$N$r$p$salt$hash, salt and hash base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltBytes);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p);
  return [
    'scrypt',
    SCRYPT.N,
    SCRYPT.r,
    SCRYPT.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

/** True when `password` matches `stored`; constant time in the hash comparison. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(
    password,
    Buffer.from(salt, 'base64url'),
    Number(n),
    Number(r),
    Number(p),
  );
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A password hash that matches nothing, checked against when the user is unknown (same time either way). */
export const DUMMY_PASSWORD_HASH =
  'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
