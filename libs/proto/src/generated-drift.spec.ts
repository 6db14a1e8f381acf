import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const workspaceRoot = join(__dirname, '../../..');
const checkedIn = join(workspaceRoot, 'libs/proto/src/gen');

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

describe('generated code', () => {
  it('matches what `npm run generate` would produce from proto/', () => {
    const out = mkdtempSync(join(tmpdir(), 'proto-drift-'));
    try {
      execFileSync(join(workspaceRoot, 'node_modules/.bin/buf'), ['generate', '-o', out], {
        cwd: workspaceRoot,
        stdio: 'pipe',
      });
      const fresh = join(out, 'libs/proto/src/gen');
      const freshFiles = listFiles(fresh)
        .map((f) => relative(fresh, f))
        .sort();
      const checkedInFiles = listFiles(checkedIn)
        .map((f) => relative(checkedIn, f))
        .sort();
      expect(checkedInFiles).toEqual(freshFiles);
      const stale = freshFiles.filter(
        (file) =>
          readFileSync(join(checkedIn, file), 'utf8') !== readFileSync(join(fresh, file), 'utf8'),
      );
      // Names the stale files so the fix (`npm run generate`) is obvious.
      expect(stale).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
