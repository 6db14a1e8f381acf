// Builds dist/apps/server/main.js, runnable with plain `node` from the workspace root:
// tsc compiles the app and the libs it imports (rootDir is the workspace, so the output
// nests under out/), tsc-alias rewrites `@trainwatch/*` imports to relative paths, and a
// one-line entry requires the compiled main.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const bin = (pkg, file) => require.resolve(`${pkg}/${file}`);
const run = (script, args) =>
  execFileSync(process.execPath, [script, ...args], { stdio: 'inherit' });

rmSync('dist/apps/server', { recursive: true, force: true });
run(bin('typescript', 'bin/tsc'), ['-p', 'apps/server/tsconfig.app.json']);
run(bin('tsc-alias', 'dist/bin/index.js'), ['-p', 'apps/server/tsconfig.app.json']);
mkdirSync('dist/apps/server', { recursive: true });
writeFileSync('dist/apps/server/main.js', "require('./out/apps/server/src/main.js');\n");
console.log('built dist/apps/server/main.js');
