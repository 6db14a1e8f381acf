// Builds a Node application project into dist/<project>/main.js, runnable with
// plain `node`: tsc compiles the app and the libs it imports (rootDir is the
// workspace, so the output nests under out/), tsc-alias rewrites
// `@trainwatch/*` imports to relative paths, and a one-line entry requires the
// compiled main.
//
// With --bundle, main.js is instead the compiled main and everything it
// imports in one file (esbuild), so a start reads one file: resolving and
// reading ~1,500 modules one by one took ~0.35 s of the server's ~1.2 s start.
// The tree under out/ stays (the admin entry uses it).
//
// Usage (from the workspace root): node tools/build-node-app.mjs apps/server [--bundle]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const project = process.argv[2]?.replace(/\/$/, '');
const bundle = process.argv.includes('--bundle');
const tsconfig = `${project}/tsconfig.app.json`;
if (!project || !existsSync(tsconfig)) {
  console.error('usage: node tools/build-node-app.mjs <project dir with tsconfig.app.json>');
  process.exit(2);
}

const require = createRequire(import.meta.url);
const bin = (pkg, file) => require.resolve(`${pkg}/${file}`);
const run = (script, args) =>
  execFileSync(process.execPath, [script, ...args], { stdio: 'inherit' });

/**
 * Packages left out of the bundle, loaded from node_modules at run time:
 * - better-sqlite3: a native addon (its .node file is found relative to its package).
 * - @grpc/grpc-js, @grpc/proto-loader: Nest's gRPC server requires them by name at run time
 *   (createRequire), and the server patches grpc-js' classes: one copy for both.
 * - the rest: transports and peers Nest loads only when an app uses them (this one does not).
 */
const EXTERNAL = [
  'better-sqlite3',
  '@grpc/grpc-js',
  '@grpc/proto-loader',
  '@nestjs/websockets',
  '@nestjs/websockets/*',
  'amqp-connection-manager',
  'amqplib',
  'class-transformer',
  'class-validator',
  'ioredis',
  'kafkajs',
  'mqtt',
];

function bundleMain(entry, outfile) {
  require('esbuild').buildSync({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    // The oldest Node the workspace supports (package.json engines).
    target: 'node20',
    format: 'cjs',
    external: EXTERNAL,
    // Nest's ESM code calls createRequire(import.meta.url): in one CommonJS file that is this file.
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    // Not minified: stack traces name the functions and lines of readable code.
    logLevel: 'warning',
  });
}

const out = `dist/${project}`;
rmSync(out, { recursive: true, force: true });
run(bin('typescript', 'bin/tsc'), ['-p', tsconfig]);
run(bin('tsc-alias', 'dist/bin/index.js'), ['-p', tsconfig]);
mkdirSync(out, { recursive: true });
if (bundle) bundleMain(`${out}/out/${project}/src/main.js`, `${out}/main.js`);
else writeFileSync(`${out}/main.js`, `require('./out/${project}/src/main.js');\n`);
// A second entry for an app's admin command line (the server's `npm run admin`), when it has one.
if (existsSync(`${project}/src/admin/main.ts`)) {
  writeFileSync(`${out}/admin.js`, `require('./out/${project}/src/admin/main.js');\n`);
}
console.log(`built ${out}/main.js`);
