// Builds dist/apps/trainer-sim/main.js, runnable with plain `node` from any
// directory: tsc compiles the app and the libs it imports (rootDir is the
// workspace, so the output nests under out/), tsc-alias rewrites
// `@trainwatch/*` imports to relative paths, and a one-line entry requires
// the compiled main.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const bin = (pkg, file) => require.resolve(`${pkg}/${file}`);
const run = (script, args) =>
  execFileSync(process.execPath, [script, ...args], { stdio: 'inherit' });

rmSync('dist/apps/trainer-sim', { recursive: true, force: true });
run(bin('typescript', 'bin/tsc'), ['-p', 'apps/trainer-sim/tsconfig.app.json']);
run(bin('tsc-alias', 'dist/bin/index.js'), ['-p', 'apps/trainer-sim/tsconfig.app.json']);
mkdirSync('dist/apps/trainer-sim', { recursive: true });
writeFileSync('dist/apps/trainer-sim/main.js', "require('./out/apps/trainer-sim/src/main.js');\n");
console.log('built dist/apps/trainer-sim/main.js');
