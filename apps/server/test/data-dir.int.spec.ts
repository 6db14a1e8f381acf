import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  SERVER_ENTRY,
  startServerProcess,
  waitFor,
  WORKSPACE_ROOT,
  type ServerProcess,
} from '@trainwatch/testing';
import {
  grpcDashboard,
  HealthySession,
  register,
  runAdminCommand,
  telemetryClient,
  TrainerStreamClient,
  unhealthyReason,
} from './harness';

/** Starts the built server on `dataDir` (free ports) and waits for it to exit; fails after 20 s. */
async function startExpectingExit(dataDir: string, env: Record<string, string> = {}) {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const result = spawnSync(process.execPath, [SERVER_ENTRY], {
    cwd: WORKSPACE_ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      STORE_ENGINE: 'sqlite',
      GRPC_PORT: String(grpcPort),
      HTTP_PORT: String(httpPort),
      ...env,
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { ...result, grpcPort, httpPort };
}

/** Two servers on one SQLite DATA_DIR: the second refuses to start, the first is not disturbed. */
describe('one server per DATA_DIR (SQLite)', () => {
  let dataDir: string;
  let first: ServerProcess | undefined;
  let second: ServerProcess | undefined;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-lock-'));
  });

  afterEach(async () => {
    if (first?.child.exitCode === null) await first.kill();
    if (second?.child.exitCode === null) await second.kill();
    first = second = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a second server on the folder exits 1 naming it, before it listens; the first keeps acking', async () => {
    first = await startServerProcess({ env: { DATA_DIR: dataDir, STORE_ENGINE: 'sqlite' } });
    const telemetry = telemetryClient(first.grpcAddress);
    const trainer = new HealthySession(telemetry, 'held');
    await trainer.start();
    await trainer.stillAcked();

    const refused = await startExpectingExit(dataDir);
    const { grpcPort, httpPort } = refused;
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      `trainwatch server: failed to start: DATA_DIR ${dataDir} is in use by another trainwatch server`,
    );
    // It stopped before binding anything: both its ports are still free.
    const otherServer = await startServerProcess({ grpcPort, httpPort });
    await otherServer.stop();

    await trainer.stillAcked();
    trainer.end();
    telemetry.close();
  });

  it('the admin commands see a running server: copy-store refuses, vacuum warns; neither stops it', async () => {
    first = await startServerProcess({ env: { DATA_DIR: dataDir, STORE_ENGINE: 'sqlite' } });
    const telemetry = telemetryClient(first.grpcAddress);
    const trainer = new HealthySession(telemetry, 'busy');
    await trainer.start();
    await trainer.stillAcked();

    const copy = await runAdminCommand({ DATA_DIR: dataDir }, [
      'copy-store',
      '--to',
      'postgres://nobody@127.0.0.1:1/never-reached',
    ]);
    expect(copy.code).toBe(1);
    expect(copy.out).toEqual([
      `admin: a trainwatch server is running on ${dataDir}: stop it first (what it stores after the copy begins would not reach PostgreSQL)`,
    ]);
    const busyVacuum = await runAdminCommand({ DATA_DIR: dataDir }, ['vacuum']);
    expect(busyVacuum.code).toBe(0);
    expect(busyVacuum.out[0]).toBe(
      `a server is running on ${dataDir}: its commits, and its trainers' acks, wait while VACUUM rewrites the file`,
    );
    expect(busyVacuum.out[1]).toMatch(/^vacuumed the SQLite store: /);
    // The server went on, its lock untouched by the looks.
    await trainer.stillAcked();
    trainer.end();
    telemetry.close();

    expect(await first.stop()).toBe(0);
    const idleVacuum = await runAdminCommand({ DATA_DIR: dataDir }, ['vacuum']);
    expect(idleVacuum.code).toBe(0);
    expect(idleVacuum.out).toHaveLength(1);
    expect(idleVacuum.out[0]).toMatch(/^vacuumed the SQLite store: /);
  });

  it('kill -9 leaves no stale lock: the next server starts on the folder with the run in its list', async () => {
    first = await startServerProcess({ env: { DATA_DIR: dataDir, STORE_ENGINE: 'sqlite' } });
    const telemetry = telemetryClient(first.grpcAddress);
    const trainer = new HealthySession(telemetry, 'survivor');
    await trainer.start();
    await trainer.stillAcked();
    telemetry.close();
    await first.kill();
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(true);
    // Nothing of the lock's own left behind but its (empty) file.
    expect(readdirSync(dataDir).filter((name) => name.startsWith('server.lock'))).toEqual([
      'server.lock',
    ]);

    second = await startServerProcess({ env: { DATA_DIR: dataDir, STORE_ENGINE: 'sqlite' } });
    const dashboard = grpcDashboard(second.grpcAddress);
    const list = await dashboard.listSessions({});
    expect(list.sessions.map((session) => session.sessionId)).toContain('survivor');
    dashboard.close();
  });

  it('server.lock removed under a running server: the server takes it again before its next commit, and a second server still refuses', async () => {
    first = await startServerProcess({ env: { DATA_DIR: dataDir, STORE_ENGINE: 'sqlite' } });
    const telemetry = telemetryClient(first.grpcAddress);
    const trainer = new HealthySession(telemetry, 'cleaned');
    await trainer.start();
    await trainer.stillAcked();
    // A cleanup of "stale" lock files.
    unlinkSync(join(dataDir, 'server.lock'));
    await trainer.stillAcked();
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(true);
    expect(first.output()).toContain(
      `${join(dataDir, 'server.lock')} was removed while this server ran: it holds the folder again`,
    );
    const refused = await startExpectingExit(dataDir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`is in use by another trainwatch server`);
    await trainer.stillAcked();
    trainer.end();
    telemetry.close();
  });

  it('server.lock removed and taken by a second server before the first commits again: the first holds its acks, saying why, until the second stops', async () => {
    first = await startServerProcess({ env: { DATA_DIR: dataDir, STORE_ENGINE: 'sqlite' } });
    const telemetry = telemetryClient(first.grpcAddress);
    await register(telemetry, { sessionId: 'contested' });
    const stream = new TrainerStreamClient(telemetry, 'contested');
    stream.batch(1n, 0, 0);
    await stream.waitForAck(1n);
    unlinkSync(join(dataDir, 'server.lock'));
    // Started while the first is idle: it finds no lock and takes a new one.
    second = await startServerProcess({ env: { DATA_DIR: dataDir, STORE_ENGINE: 'sqlite' } });

    stream.batch(2n, 0, 1);
    const reason = await unhealthyReason(first.httpUrl, 'on the first server', {
      timeoutMs: 10_000,
    });
    expect(reason).toBe(
      `store: DATA_DIR ${dataDir} is in use by another trainwatch server too: ${join(dataDir, 'server.lock')} was removed while this server ran and the other one took it; stop one of them (this one holds its acks until it has the folder again)`,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stream.acks().map((ack) => ack.sequence)).toEqual([1n]);

    expect(await second.stop()).toBe(0);
    const ack = await stream.waitForAck(2n, 10_000);
    expect([ack.success, ack.duplicate]).toEqual([true, false]);
    await waitFor(async () => (await fetch(`${first!.httpUrl}/healthz`)).ok, {
      what: '/healthz 200 again',
    });
    expect(stream.errors()).toEqual([]);
    stream.end();
    telemetry.close();
  });

  it('a server stopped with SIGTERM gives the folder back', async () => {
    first = await startServerProcess({ env: { DATA_DIR: dataDir, STORE_ENGINE: 'sqlite' } });
    expect(await first.stop()).toBe(0);
    second = await startServerProcess({ env: { DATA_DIR: dataDir, STORE_ENGINE: 'sqlite' } });
    expect(second.child.exitCode).toBeNull();
  });
});

describe('a store that cannot be opened', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'trainwatch-bad-data-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('a file that is not a database in its place: exit 1 naming the file, the file left as it was', async () => {
    const file = join(root, 'trainwatch.sqlite');
    writeFileSync(file, 'notes, not a database\n'.repeat(100));
    const result = await startExpectingExit(root);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `trainwatch server: failed to start: ${file} is not a usable SQLite database (file is not a database): restore it from a backup`,
    );
    expect(readFileSync(file, 'utf8')).toBe('notes, not a database\n'.repeat(100));
  });

  it('a file where the folder should be: exit 1 saying so', async () => {
    const notAFolder = join(root, 'data');
    writeFileSync(notAFolder, 'x');
    const result = await startExpectingExit(notAFolder);
    expect(result.status).toBe(1);
    // One line, not Nest's report of the error with its stack before it.
    expect(result.stdout + result.stderr).toBe(
      `trainwatch server: failed to start: DATA_DIR ${notAFolder} is not a folder: point DATA_DIR at a folder\n`,
    );
  });

  it('a port another process holds: exit 1 in one line naming the setting', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const result = await startExpectingExit(root, { HTTP_PORT: String(port) });
      expect(result.status).toBe(1);
      expect(result.stdout + result.stderr).toBe(
        `trainwatch server: failed to start: HTTP_PORT=${port} on 127.0.0.1 is in use by another process (listen EADDRINUSE: address already in use 127.0.0.1:${port}): stop it or choose another port\n`,
      );
      const grpc = await startExpectingExit(root, { GRPC_PORT: String(port) });
      expect(grpc.status).toBe(1);
      // grpc-js logs its own line before it.
      expect(grpc.stderr.trim().split('\n').at(-1)).toMatch(
        new RegExp(
          `^trainwatch server: failed to start: GRPC_PORT=${port} on 127\\.0\\.0\\.1 is in use by another process \\(.*EADDRINUSE.*\\): stop it or choose another port$`,
        ),
      );
    } finally {
      holder.close();
    }
  });

  it('PostgreSQL not listening: exit 1 naming where it was looked for, never the password', async () => {
    const port = await freePort();
    const result = await startExpectingExit(root, {
      STORE_ENGINE: 'postgres',
      DATABASE_URL: `postgres://trainer:hunter2-secret@127.0.0.1:${port}/runs`,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `trainwatch server: failed to start: cannot reach PostgreSQL at 127.0.0.1:${port}/runs (DATABASE_URL): connect ECONNREFUSED`,
    );
    expect(result.stdout + result.stderr).not.toContain('hunter2-secret');
  });
});
