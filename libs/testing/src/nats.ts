import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { waitFor } from './wait-for';

/** A NATS server (JetStream on) for one test file: a throwaway one, or the one NATS_URL names. */
export interface TestNats {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  /** False when NATS_URL named an outside server (a test cannot stop or start it). */
  readonly ownServer: boolean;
  /** Stops the server as a crash would (SIGKILL); `start()` brings it back with its data. */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port and JetStream directory. */
  start(): Promise<void>;
  /** Stops it for good and removes its data (nothing for an outside server). */
  destroy(): Promise<void>;
}

/** How long the first start may take on a busy machine (it is ready in < 50 ms when idle). */
const NATS_START_TIMEOUT_MS = 15_000;

/** The largest message the test server takes: a watch snapshot is up to 4 MiB. */
const TEST_MAX_PAYLOAD = '8MB';

/** Debian's nats-server binary, or undefined. NATS_SERVER_PATH wins when set. */
export function findNatsServer(): string | undefined {
  const candidates = [
    process.env['NATS_SERVER_PATH'],
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
  ];
  return candidates.find((candidate) => candidate !== undefined && existsSync(candidate));
}

/**
 * Starts nats-server with JetStream on a free loopback port (store under the
 * temp dir), or uses NATS_URL when set. The server dies with the test
 * process (pdeathsig), so a killed test run leaves no orphan.
 */
export async function startNats(): Promise<TestNats> {
  const external = process.env['NATS_URL'];
  if (external !== undefined && external !== '') return outsideNats(external);
  const binary = findNatsServer();
  if (binary === undefined) {
    throw new Error('nats-server is not installed: apt-get install nats-server (or set NATS_URL)');
  }
  const root = mkdtempSync(join(tmpdir(), 'trainwatch-nats-'));
  const port = await freePort();
  const config = join(root, 'nats.conf');
  writeFileSync(
    config,
    [
      `listen: "127.0.0.1:${port}"`,
      `max_payload: ${TEST_MAX_PAYLOAD}`,
      `jetstream { store_dir: "${join(root, 'js')}" }`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    const current = spawn('setpriv', ['--pdeathsig=SIGKILL', '--', binary, '-c', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = current;
    current.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    current.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await waitFor(
      async () => {
        if (current.exitCode !== null) throw new Error(`nats-server exited early:\n${log}`);
        // Ready once JetStream is up: the log says so after the listener opens.
        return log.includes('Server is ready') && (await accepts(port));
      },
      { timeoutMs: NATS_START_TIMEOUT_MS, what: `nats-server on port ${port}\n${log}` },
    );
  };
  const stop = async (): Promise<void> => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    ownServer: true,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function outsideNats(url: string): TestNats {
  const refuse = (): Promise<void> =>
    Promise.reject(new Error('NATS_URL names an outside server: a test cannot stop or start it'));
  return { url, ownServer: false, stop: refuse, start: refuse, destroy: () => Promise.resolve() };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
