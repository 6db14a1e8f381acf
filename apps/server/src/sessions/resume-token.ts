import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Call metadata key that carries SessionResponse.resume_token on StreamMetrics. */
export const RESUME_TOKEN_METADATA = 'trainwatch-resume-token';

/** A fresh secret for one session: 128 random bits, hex. */
export function newResumeToken(): string {
  return randomBytes(16).toString('hex');
}

/** True when `presented` is the session's token; constant time, so it cannot be guessed byte by byte. */
export function resumeTokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined || presented === '') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
