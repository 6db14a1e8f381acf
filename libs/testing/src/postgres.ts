import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports';
import { waitFor } from './wait-for';

/** A PostgreSQL server for one test file: a throwaway one, or the one DATABASE_URL names. */
export interface TestPostgres {
  /** URL of the server's default database. */
  readonly url: string;
  /** False when DATABASE_URL named an outside server (it cannot be stopped by a test). */
  readonly ownServer: boolean;
  /** Creates an empty database and returns its URL: one per store under test, so tests never share rows. */
  createDatabase(): Promise<string>;
  /** Drops a database createDatabase made (its connections ended first); nothing if it is gone already. */
  dropDatabase(url: string): Promise<void>;
  /** Fast shutdown (connections dropped), as an operator or a crash would; `start()` brings it back. */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its data (nothing for an outside server). */
  destroy(): Promise<void>;
}

/** How long initdb plus the first start may take on a busy machine. */
const POSTGRES_START_TIMEOUT_MS = 30_000;

/** Debian's PostgreSQL binaries (newest version), or undefined. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(`${root}/${name}/bin/initdb`))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? `${root}/${versions[0]}/bin` : undefined;
}

/**
 * Starts a throwaway PostgreSQL on a free loopback port (data under the
 * temp dir, fsync off: durability across an OS crash is not under test), or
 * uses DATABASE_URL when set. initdb refuses root, so as root the server
 * runs as the `postgres` user; it dies with the test process (pdeathsig).
 */
export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env['DATABASE_URL'];
  if (external !== undefined && external !== '') return outsidePostgres(external);
  const bin = findPostgresBin();
  if (bin === undefined) {
    throw new Error(
      'PostgreSQL is not installed: apt-get install postgresql (or set DATABASE_URL)',
    );
  }
  const root = mkdtempSync(join(tmpdir(), 'trainwatch-pg-'));
  const dataDir = join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? userIds('postgres') : undefined;
  if (user !== undefined) chownSync(root, user.uid, user.gid);
  const asPostgres = (command: string, args: string[]): [string, string[]] =>
    asRoot
      ? [
          'setpriv',
          [
            '--reuid=postgres',
            '--regid=postgres',
            '--init-groups',
            '--pdeathsig=SIGKILL',
            '--',
            command,
            ...args,
          ],
        ]
      : [command, args];
  const [initCommand, initArgs] = asPostgres(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  const init = spawnSync(initCommand, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    const [command, args] = asPostgres(join(bin, 'postgres'), [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      root,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
    ]);
    const current = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = current;
    current.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    current.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await waitFor(
      async () => {
        if (current.exitCode !== null) throw new Error(`postgres exited early:\n${log}`);
        return query(url, 'select 1').then(
          () => true,
          () => false,
        );
      },
      { timeoutMs: POSTGRES_START_TIMEOUT_MS, what: `postgres on port ${port}\n${log}` },
    );
  };
  const stop = async (): Promise<void> => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    // SIGINT: fast shutdown, every connection dropped at once.
    current.kill('SIGINT');
    await exited;
  };
  await start();
  return {
    url,
    ownServer: true,
    createDatabase: () => createDatabase(url),
    dropDatabase: (database) => dropDatabase(url, database),
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function outsidePostgres(url: string): TestPostgres {
  const refuse = (): Promise<void> =>
    Promise.reject(
      new Error('DATABASE_URL names an outside server: a test cannot stop or start it'),
    );
  return {
    url,
    ownServer: false,
    createDatabase: () => createDatabase(url),
    dropDatabase: (database) => dropDatabase(url, database),
    stop: refuse,
    start: refuse,
    destroy: () => Promise.resolve(),
  };
}

async function createDatabase(url: string): Promise<string> {
  const name = `trainwatch_test_${randomBytes(6).toString('hex')}`;
  await query(url, `create database ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}

async function dropDatabase(url: string, database: string): Promise<void> {
  const name = new URL(database).pathname.slice(1);
  if (!/^trainwatch_test_[0-9a-f]{12}$/.test(name)) {
    throw new Error(`not a database createDatabase made: ${name}`);
  }
  await query(url, `drop database if exists ${name} with (force)`);
}

async function query(url: string, text: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(text);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no user ${name}`);
  return { uid, gid };
}
