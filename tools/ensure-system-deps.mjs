// Makes sure the system packages the tests need are present: Debian's
// Chromium (browser end-to-end tests), Debian's Python packages (the
// Python client's tests), PostgreSQL (the store's tests start a
// throwaway server) and nats-server (the replica tests start their own). Installs them with apt-get when running as root;
// otherwise stops with the command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const PYTHON = '/usr/bin/python3';
const PYTHON_MODULES = ['grpc', 'google.protobuf', 'numpy', 'PIL', 'pytest', 'flake8'];
const PYTHON_PACKAGES = [
  'python3-grpcio',
  'python3-protobuf',
  'python3-numpy',
  'python3-pil',
  'python3-pytest',
  // The Python client's linter (run before its tests).
  'flake8',
  // protoc and its gRPC Python plugin regenerate the Python stubs (drift check).
  'protobuf-compiler',
  'protobuf-compiler-grpc',
];

/** Directory holding Debian's PostgreSQL server binaries (initdb, postgres), or undefined. */
export function findPostgresBin() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(`${root}/${name}/bin/initdb`))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? `${root}/${versions[0]}/bin` : undefined;
}

/** Path of a Chromium binary, or undefined. CHROMIUM_PATH wins when set. */
export function findChromium() {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ];
  return candidates.find((candidate) => candidate && existsSync(candidate));
}

/** Path of Debian's nats-server binary, or undefined. NATS_SERVER_PATH wins when set. */
export function findNatsServer() {
  const candidates = [
    process.env.NATS_SERVER_PATH,
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
  ];
  return candidates.find((candidate) => candidate && existsSync(candidate));
}

function pythonMissing() {
  if (!existsSync(PYTHON)) return PYTHON_MODULES;
  const missing = PYTHON_MODULES.filter(
    (module) => spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status !== 0,
  );
  for (const tool of ['/usr/bin/protoc', '/usr/bin/grpc_python_plugin']) {
    if (!existsSync(tool)) missing.push(tool);
  }
  return missing;
}

function canApt() {
  return process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
}

function aptInstall(packages) {
  console.log(`[deps] apt-get install -y ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env,
  });
}

export function ensureSystemDeps({ python = true } = {}) {
  const wanted = [];
  if (!findChromium()) wanted.push('chromium');
  // A DATABASE_URL names a PostgreSQL the tests use instead of starting their own.
  if (!process.env.DATABASE_URL && !findPostgresBin()) wanted.push('postgresql');
  // A NATS_URL names a NATS server the tests use instead of starting their own.
  if (!process.env.NATS_URL && !findNatsServer()) wanted.push('nats-server');
  const missingModules = python ? pythonMissing() : [];
  if (missingModules.length > 0) wanted.push('python3', ...PYTHON_PACKAGES);
  if (wanted.length === 0) return;
  if (!canApt()) {
    console.error(
      `[deps] missing: ${wanted.join(' ')}\n` +
        `[deps] install them with: sudo apt-get install -y ${wanted.join(' ')}\n` +
        '[deps] (or set CHROMIUM_PATH to a Chromium/Chrome binary)',
    );
    process.exit(1);
  }
  aptInstall(wanted);
  if (!findChromium()) throw new Error('chromium is still missing after apt-get install');
  if (!process.env.DATABASE_URL && !findPostgresBin()) {
    throw new Error('postgresql is still missing after apt-get install');
  }
  if (!process.env.NATS_URL && !findNatsServer()) {
    throw new Error('nats-server is still missing after apt-get install');
  }
  if (python && pythonMissing().length > 0) {
    throw new Error(`python modules still missing: ${pythonMissing().join(', ')}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) ensureSystemDeps();
