// Builds a Node application project into dist/<project>/main.js, runnable with
// plain `node`: tsc compiles the app and the libs it imports (rootDir is the
// workspace, so the output nests under out/), tsc-alias rewrites
// `@trainwatch/*` imports to relative paths, and a one-line entry requires the
// compiled main.
//
// Usage (from the workspace root): node tools/build-node-app.mjs apps/server
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const project = process.argv[2]?.replace(/\/$/, '');
const tsconfig = `${project}/tsconfig.app.json`;
if (!project || !existsSync(tsconfig)) {
  console.error('usage: node tools/build-node-app.mjs <project dir with tsconfig.app.json>');
  process.exit(2);
}

const require = createRequire(import.meta.url);
const bin = (pkg, file) => require.resolve(`${pkg}/${file}`);
const run = (script, args) =>
  execFileSync(process.execPath, [script, ...args], { stdio: 'inherit' });

const out = `dist/${project}`;
rmSync(out, { recursive: true, force: true });
run(bin('typescript', 'bin/tsc'), ['-p', tsconfig]);
run(bin('tsc-alias', 'dist/bin/index.js'), ['-p', tsconfig]);
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/main.js`, `require('./out/${project}/src/main.js');\n`);
// A second entry for an app's admin command line (the server's `npm run admin`), when it has one.
if (existsSync(`${project}/src/admin/main.ts`)) {
  writeFileSync(`${out}/admin.js`, `require('./out/${project}/src/admin/main.js');\n`);
}
console.log(`built ${out}/main.js`);
