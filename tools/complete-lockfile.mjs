// Adds package-lock entries for platform-specific optional dependencies
// (other operating systems and CPUs) that the registry in use does not serve.
// `npm install` leaves them out of the lock when it cannot fetch them, and
// `npm ci` then rejects the lock as out of sync. Each added entry carries its
// os/cpu, so npm skips it on other platforms without fetching anything.
// Run after `npm install` changes the lock: `node tools/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;

const OS = [
  'darwin',
  'win32',
  'linux',
  'android',
  'freebsd',
  'openharmony',
  'sunos',
  'netbsd',
  'openbsd',
  'aix',
];
const CPU = [
  [/(aarch64|arm64)/, 'arm64'],
  [/x64/, 'x64'],
  [/ia32/, 'ia32'],
  [/(armv7|arm-gnueabihf|arm-musleabihf|arm-eabi|-arm$)/, 'arm'],
  [/ppc64/, 'ppc64'],
  [/s390x/, 's390x'],
  [/loong64/, 'loong64'],
  [/riscv64/, 'riscv64'],
  [/wasm32/, 'wasm32'],
];

function platformOf(name) {
  const base = name.split('/').pop();
  const os = OS.find((candidate) => base.includes(candidate));
  const cpu = CPU.find(([pattern]) => pattern.test(base))?.[1];
  return os && cpu ? { os, cpu } : undefined;
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    const nested = `${location}/node_modules/${name}`;
    if (packages[target] || packages[nested]) continue;
    const platform = platformOf(name);
    if (!platform) {
      console.warn(`[lock] ${name} is missing and is not platform-specific; run npm install`);
      continue;
    }
    packages[target] = {
      version: version.replace(/^[\^~=]/, ''),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [platform.os],
      cpu: [platform.cpu],
    };
    added += 1;
  }
}

const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`[lock] added ${added} platform-specific optional entries`);
