import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { canConnect, freePort, waitFor } from '@trainwatch/testing';

/** What a benchmark runs against: the product server or the bare relay. */
export type TargetKind = 'product' | 'relay';

/** Output kept per child process, so a crash can be explained without unbounded logs. */
const MAX_LOG_CHARS = 64 * 1024;

/** A target running as its own process, so its CPU and RSS can be read from /proc. */
export interface Target {
  kind: TargetKind;
  pid: number;
  grpcAddress: string;
  /** HTTP base URL (gRPC-Web, SPA); product only. */
  httpUrl?: string;
  /** The last MAX_LOG_CHARS of what the process printed. */
  output(): string;
  stop(): Promise<void>;
  /** Starts the process again on the same ports (after stop). */
  restart(): Promise<void>;
}

/** The repository root: the nearest ancestor whose package.json is this workspace's. */
export function workspaceRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'trainwatch'
    ) {
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no workspace root above ${from}`);
  }
}

function launch(
  entry: string,
  env: Record<string, string>,
): { child: ChildProcess; output: () => string } {
  if (!existsSync(entry))
    throw new Error(`${entry} is missing: build first (npm run bench builds everything)`);
  // BENCH_CPU_PROF_DIR: each target writes a V8 CPU profile there when it exits (node forbids
  // --cpu-prof in NODE_OPTIONS, so it is passed on the command line).
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  const flags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...flags, entry], {
    cwd: workspaceRoot(),
    env: { ...process.env, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-MAX_LOG_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => log };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
  await exited;
  clearTimeout(timer);
}

/**
 * The server build to run: BENCH_SERVER_ENTRY when set (run-all.mjs points it
 * at a copy taken right after building, so every benchmark measures the same
 * build even if dist/ is rebuilt meanwhile), else dist/apps/server/main.js.
 */
export function serverEntry(): string {
  return process.env.BENCH_SERVER_ENTRY ?? join(workspaceRoot(), 'dist/apps/server/main.js');
}

/**
 * Starts the built product server on free ports. Its runs go to a temporary
 * DATA_DIR of its own (kept across restart, removed at stop) unless `env` names one.
 */
export async function startProduct(env: Record<string, string> = {}): Promise<Target> {
  const ownDataDir =
    env['DATA_DIR'] === undefined ? mkdtempSync(join(tmpdir(), 'trainwatch-bench-')) : undefined;
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  let current: ReturnType<typeof launch>;
  const boot = async () => {
    const launched = launch(serverEntry(), {
      GRPC_PORT: String(grpcPort),
      HTTP_PORT: String(httpPort),
      ...(ownDataDir === undefined ? {} : { DATA_DIR: ownDataDir }),
      ...(process.env.BENCH_WEB_DIST_DIR ? { WEB_DIST_DIR: process.env.BENCH_WEB_DIST_DIR } : {}),
      ...env,
    });
    current = launched;
    await waitFor(
      async () => {
        if (launched.child.exitCode !== null)
          throw new Error(`server exited early:\n${launched.output()}`);
        const health = await fetch(`${httpUrl}/healthz`).catch(() => undefined);
        return health?.ok === true && (await canConnect(grpcPort));
      },
      { timeoutMs: 30_000, what: `server on ${httpUrl}` },
    );
  };
  await boot();
  return {
    kind: 'product',
    get pid() {
      return current.child.pid ?? -1;
    },
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpUrl,
    output: () => current.output(),
    stop: async () => {
      await stopChild(current.child);
      if (ownDataDir !== undefined) rmSync(ownDataDir, { recursive: true, force: true });
    },
    restart: boot,
  };
}

/** Starts the bare relay baseline (built next to this file) on a free port. */
export async function startRelayProcess(): Promise<Target> {
  const port = await freePort();
  let current: ReturnType<typeof launch>;
  const boot = async () => {
    const launched = launch(join(__dirname, '../relay/main.js'), { RELAY_PORT: String(port) });
    current = launched;
    await waitFor(
      async () => {
        if (launched.child.exitCode !== null)
          throw new Error(`relay exited early:\n${launched.output()}`);
        return canConnect(port);
      },
      { timeoutMs: 15_000, what: `relay on ${port}` },
    );
  };
  await boot();
  return {
    kind: 'relay',
    get pid() {
      return current.child.pid ?? -1;
    },
    grpcAddress: `127.0.0.1:${port}`,
    output: () => current.output(),
    stop: () => stopChild(current.child),
    restart: boot,
  };
}

/** Starts the named target. */
export function startTarget(kind: TargetKind, env?: Record<string, string>): Promise<Target> {
  return kind === 'product' ? startProduct(env) : startRelayProcess();
}
