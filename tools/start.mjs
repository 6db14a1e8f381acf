// `npm start`: the embedded stack in one Node process (gRPC on :50051; SPA,
// gRPC-Web, /healthz and /metrics on :8080). Installs and builds on first run.
// `npm run demo` (`--demo`) also starts a simulated training run against it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demo = process.argv.includes('--demo');
const httpPort = process.env.HTTP_PORT ?? '8080';
const grpcPort = process.env.GRPC_PORT ?? '50051';

function run(command, args) {
  console.log(`[start] ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`[start] failed: ${command} ${args.join(' ')}`);
    process.exit(result.status ?? 1);
  }
}

if (!existsSync(join(root, 'node_modules/.package-lock.json'))) run('npm', ['ci']);

// Nx rebuilds only what changed since the last build (and restores from its
// cache), so this is quick after the first run.
const projects = demo ? 'server,web,trainer-sim' : 'server,web';
run('npx', ['nx', 'run-many', '-t', 'build', '-p', projects, '--outputStyle=static']);

const children = new Set();
function launch(label, args, env = {}) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (label === 'server') {
      for (const other of children) other.kill('SIGTERM');
      process.exit(code ?? (signal ? 1 : 0));
    } else {
      console.log(`[start] ${label} exited (${code ?? signal})`);
    }
  });
  return child;
}

// Runs are kept across restarts: SQLite in ./data unless DATA_DIR or DATABASE_URL say otherwise.
const dataDir = process.env.DATA_DIR ?? join(root, 'data');
if (!process.env.DATABASE_URL) console.log(`[start] runs are kept in ${dataDir}`);
launch('server', ['dist/apps/server/main.js'], { DATA_DIR: dataDir });

async function waitForHealth(deadlineMs) {
  const url = `http://127.0.0.1:${httpPort}/healthz`;
  while (Date.now() < deadlineMs) {
    const response = await fetch(url).catch(() => undefined);
    if (response?.ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

if (await waitForHealth(Date.now() + 30_000)) {
  console.log(`\n[start] dashboard: http://localhost:${httpPort}\n`);
  if (demo) {
    launch('demo trainer', [
      'dist/apps/trainer-sim/main.js',
      '--server',
      `127.0.0.1:${grpcPort}`,
      ...process.argv.slice(2).filter((arg) => arg !== '--demo'),
    ]);
  }
} else {
  console.error('[start] the server did not become healthy within 30 s');
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill('SIGTERM');
  });
}
