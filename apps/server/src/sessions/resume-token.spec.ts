import { newResumeToken, resumeTokenMatches } from './resume-token';

describe('resume tokens', () => {
  it('are 32 hex characters and differ each time', () => {
    const first = newResumeToken();
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(newResumeToken()).not.toBe(first);
  });

  it('match only the exact token; empty or missing never matches', () => {
    const token = newResumeToken();
    expect(resumeTokenMatches(token, token)).toBe(true);
    expect(resumeTokenMatches(token, `${token}0`)).toBe(false);
    expect(resumeTokenMatches(token, token.replace(/.$/, 'x'))).toBe(false);
    expect(resumeTokenMatches(token, '')).toBe(false);
    expect(resumeTokenMatches(token, undefined)).toBe(false);
  });
});
