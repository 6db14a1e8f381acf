// `npm test`: every test of every project, through Nx: type checks, unit and
// integration specs over real sockets, the Python client's tests, and the
// browser end-to-end suite in Chromium. Fails on the first failing target.
import { spawnSync } from 'node:child_process';
import { ensureSystemDeps } from './ensure-system-deps.mjs';

ensureSystemDeps();

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', FORCE_COLOR: '0' };
const steps = [
  ['nx', 'run-many', '-t', 'typecheck', '--outputStyle=static'],
  // One at a time: integration suites start real servers and share 2 cores.
  ['nx', 'run-many', '-t', 'test', '--parallel=1', '--outputStyle=stream'],
  ['nx', 'run-many', '-t', 'e2e', '--parallel=1', '--outputStyle=stream'],
];

for (const [command, ...args] of steps) {
  console.log(`\n[test] ${command} ${args.join(' ')}`);
  const result = spawnSync('npx', [command, ...args], { stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`\n[test] FAILED: ${command} ${args.join(' ')} (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
}
console.log('\n[test] all tests passed');
