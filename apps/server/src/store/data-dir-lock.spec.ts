import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir, serverRunsOn, usableDataDir } from './data-dir-lock';

describe('lockDataDir', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = join(mkdtempSync(join(tmpdir(), 'trainwatch-lock-')), 'data')));
  afterEach(() => rmSync(join(dataDir, '..'), { recursive: true, force: true }));

  it('creates the folder, and a second lock on it in the same process is refused naming it', () => {
    const held = lockDataDir(dataDir);
    expect(() => lockDataDir(dataDir)).toThrow(
      `DATA_DIR ${dataDir} is in use by another trainwatch server (it holds ${held.file})`,
    );
    held.release();
  });

  it('is free again once released, and releasing twice is harmless', () => {
    const held = lockDataDir(dataDir);
    held.release();
    held.release();
    const again = lockDataDir(dataDir);
    again.release();
  });

  it('locks each folder on its own', () => {
    const one = lockDataDir(dataDir);
    const other = lockDataDir(`${dataDir}-other`);
    one.release();
    other.release();
    rmSync(`${dataDir}-other`, { recursive: true, force: true });
  });
});

describe('usableDataDir', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'trainwatch-data-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates a missing folder, parents included', () => {
    usableDataDir(join(root, 'a', 'b'));
    expect(statSync(join(root, 'a', 'b')).isDirectory()).toBe(true);
  });

  it('a file where the folder should be: says so', () => {
    writeFileSync(join(root, 'file'), 'x');
    expect(() => usableDataDir(join(root, 'file'))).toThrow(
      `DATA_DIR ${join(root, 'file')} is not a folder`,
    );
  });

  it('a folder that cannot be created: names it and the reason', () => {
    writeFileSync(join(root, 'file'), 'x');
    const inside = join(root, 'file', 'data');
    expect(() => usableDataDir(inside)).toThrow(
      new RegExp(`^DATA_DIR ${inside} cannot be created or written by .*ENOTDIR`),
    );
  });
});

describe('serverRunsOn', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-probe-'))));
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('no lock file: false, and it creates none', () => {
    expect(serverRunsOn(dataDir)).toBe(false);
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);
  });

  it('true while the lock is held, false once released; looking leaves the lock with its holder', () => {
    const held = lockDataDir(dataDir);
    expect(serverRunsOn(dataDir)).toBe(true);
    expect(serverRunsOn(dataDir)).toBe(true);
    held.release();
    expect(serverRunsOn(dataDir)).toBe(false);
    lockDataDir(dataDir).release();
  });
});
