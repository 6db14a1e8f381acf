import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort } from './ports';
import { waitFor } from './wait-for';

/** Repository root, found from this file's location. */
export const WORKSPACE_ROOT = join(__dirname, '../../..');
/** The built server entry point (`nx build server`). */
export const SERVER_ENTRY = join(WORKSPACE_ROOT, 'dist/apps/server/main.js');

export interface ServerProcessOptions {
  /** Extra environment for the server (see apps/server/src/config). */
  env?: Record<string, string>;
  /** Fixed ports; free ones are picked when omitted. */
  grpcPort?: number;
  httpPort?: number;
  /** How long to wait for /healthz and the gRPC port. */
  startTimeoutMs?: number;
}

/** A real server process on real sockets, for integration and e2e tests. */
export interface ServerProcess {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** host:port for grpc-js clients. */
  readonly grpcAddress: string;
  /** http://127.0.0.1:port for gRPC-Web clients and browsers. */
  readonly httpUrl: string;
  /** The running child (replaced on restart). */
  readonly child: ChildProcess;
  /**
   * Where the server keeps its runs (DATA_DIR): a temporary directory of
   * its own unless `env` names one, the same across restarts, removed when
   * the test process exits.
   */
  readonly dataDir: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit: a crash, as far as clients can tell. */
  kill(): Promise<void>;
  /** Start again on the same ports (after stop or kill). */
  start(): Promise<void>;
}

/** A temporary DATA_DIR, removed when this process exits (a server may restart on it until then). */
function ownDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trainwatch-server-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Spawns `node dist/apps/server/main.js` and waits until /healthz answers
 * 200 and the gRPC port accepts connections. Build the server first.
 */
export async function startServerProcess(
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  if (!existsSync(SERVER_ENTRY)) {
    throw new Error(`${SERVER_ENTRY} is missing: run \`npx nx build server\` first`);
  }
  const grpcPort = options.grpcPort ?? (await freePort());
  const httpPort = options.httpPort ?? (await freePort());
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const dataDir = options.env?.['DATA_DIR'] ?? ownDataDir();
  let log = '';
  let child!: ChildProcess;

  const launch = async (): Promise<void> => {
    child = spawn(process.execPath, [SERVER_ENTRY], {
      cwd: WORKSPACE_ROOT,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        GRPC_PORT: String(grpcPort),
        HTTP_PORT: String(httpPort),
        DATA_DIR: dataDir,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const current = child;
    current.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    current.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await waitFor(
      async () => {
        if (current.exitCode !== null) throw new Error(`server exited early:\n${log}`);
        const health = await fetch(`${httpUrl}/healthz`).catch(() => undefined);
        return health?.ok === true && (await canConnect(grpcPort));
      },
      { timeoutMs: options.startTimeoutMs ?? 20_000, what: `server on ${httpUrl}\n${log}` },
    );
  };
  await launch();

  return {
    grpcPort,
    httpPort,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpUrl,
    dataDir,
    get child() {
      return child;
    },
    output: () => log,
    async stop() {
      child.kill('SIGTERM');
      return exited(child);
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    start: launch,
  };
}
