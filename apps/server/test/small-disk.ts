import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small file system of its own for the full-disk specs: a tmpfs of
 * `bytes` mounted on a new folder. Mounting needs root where mount is
 * allowed; elsewhere `dir` is undefined and `why` says what mount said, and
 * the spec prints SKIPPED with it instead of failing the run.
 */
export function mountSmallDisk(bytes: number): { dir?: string; why?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'trainwatch-small-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (mounted.status === 0) return { dir };
  rmSync(dir, { recursive: true, force: true });
  return { why: (mounted.stderr || mounted.error?.message || 'mount failed').trim() };
}

/** Unmounts and removes a folder mountSmallDisk made. */
export function unmountSmallDisk(dir: string): void {
  spawnSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
}

/** Another program takes all but `leaveBytes` of the disk holding `dir`: the file it wrote. */
export function fillDisk(dir: string, leaveBytes: number): string {
  const free = statfsSync(dir);
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, free.bavail * free.bsize - leaveBytes)));
  return filler;
}

/** What a spec prints when it cannot mount (it passes without checking anything). */
export function skippedWithoutMount(why: string | undefined): void {
  console.warn(
    `SKIPPED a full-disk test: mounting a tmpfs was refused (${why}); run the tests as root on a machine that allows mount`,
  );
}
