// `npm run bench`: builds what the benchmarks drive, runs each benchmark as
// its own process (one crashing is reported, not fatal), collects their JSON
// results and writes BENCHMARKS.md.
//
//   npm run bench                       full run, rewrites BENCHMARKS.md
//   npm run bench -- --quick            a few seconds each, writes tmp/bench/BENCHMARKS.md
//   npm run bench -- --only e2e,sdk     just these; the report keeps the others' latest results
//   npm run bench -- --no-build         skip the build step
//   npm run bench -- --targets relay    pass through: run only the product or only the relay side
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist/bench/bench/src');

/** Name → compiled entry and the longest it may take in a full run. */
const BENCHMARKS = {
  ingest: { entry: 'benchmarks/ingest.js', fullMinutes: 30 },
  e2e: { entry: 'benchmarks/e2e-latency.js', fullMinutes: 10 },
  command: { entry: 'benchmarks/command-rtt.js', fullMinutes: 5 },
  'slow-watcher': { entry: 'benchmarks/slow-watcher.js', fullMinutes: 12 },
  sdk: { entry: 'benchmarks/sdk.js', fullMinutes: 5 },
  browser: { entry: 'benchmarks/browser.js', fullMinutes: 20 },
  store: { entry: 'benchmarks/store.js', fullMinutes: 25 },
  auth: { entry: 'benchmarks/auth.js', fullMinutes: 15 },
  webhooks: { entry: 'benchmarks/webhooks.js', fullMinutes: 15 },
  'runs-page': { entry: 'benchmarks/runs-page.js', fullMinutes: 5 },
  compare: { entry: 'benchmarks/compare.js', fullMinutes: 15 },
  'image-scrub': { entry: 'benchmarks/image-scrub.js', fullMinutes: 5 },
  replicas: { entry: 'benchmarks/replicas.js', fullMinutes: 15 },
};
const QUICK_MINUTES = 4;
/** Before each benchmark: wait until the rest of the machine uses under this share of one core... */
const QUIET_PERCENT = 10;
/** ...for one window of this length (CPU read from /proc)... */
const QUIET_WINDOW_MS = 3000;
/** ...or go on after this long, and say so in the benchmark's notes. */
const QUIET_DEADLINE_MS = 60_000;

function parseArgs(argv) {
  const options = { quick: false, build: true, only: undefined, targets: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--no-build') options.build = false;
    else if (arg === '--only') options.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--targets') options.targets = argv[++i];
    else if (arg === '--help' || arg === '-h') {
      console.log(readUsage());
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg}\n${readUsage()}`);
      process.exit(2);
    }
  }
  const unknown = (options.only ?? []).filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0 || options.only?.length === 0) {
    console.error(`--only takes a comma-separated list of: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
  return options;
}

function readUsage() {
  return `usage: npm run bench -- [--quick] [--only ${Object.keys(BENCHMARKS).join('|')}[,...]] [--no-build] [--targets product|relay]`;
}

function build() {
  const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
  const args = [
    'nx',
    'run-many',
    '-t',
    'build',
    '-p',
    'server',
    'web',
    'bench',
    '--outputStyle=static',
  ];
  console.log(`[bench] npx ${args.join(' ')}`);
  const result = spawnSync('npx', args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error('[bench] build failed');
    process.exit(result.status ?? 1);
  }
}

/**
 * CPU time (ms) used so far by every process on the machine but this one, by pid; the stat line
 * is parsed by the benchmarks' own proc-stats (built, so imported once the build is there).
 */
async function processCpu() {
  const { parseCpuMs } = await import(join(dist, 'common/proc-stats.js'));
  const cpu = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      cpu.set(pid, { name, ms: parseCpuMs(stat) });
    } catch {
      // The process ended while it was read.
    }
  }
  return cpu;
}

/** CPU the rest of the machine used over `windowMs`: percent of one core, and the busiest processes. */
async function machineLoad(windowMs) {
  const before = await processCpu();
  const began = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = await processCpu();
  const wallMs = performance.now() - began;
  const busy = [];
  let total = 0;
  for (const [pid, { name, ms }] of after) {
    const used = ((ms - (before.get(pid)?.ms ?? 0)) * 100) / wallMs;
    total += used;
    if (used >= 1) busy.push({ pid, name, used });
  }
  busy.sort((a, b) => b.used - a.used);
  const top = busy
    .slice(0, 4)
    .map((p) => `${p.name} ${p.pid} ${Math.round(p.used)}%`)
    .join(', ');
  return { percent: total, text: `${Math.round(total)}% of one core${top ? ` (${top})` : ''}` };
}

/**
 * Flushes the page cache's dirty pages, then waits until the rest of the machine is quiet (a
 * previous benchmark's processes, a database's checkpoint, a browser closing), so no benchmark is measured beside another's leftovers;
 * resolves with a note saying what the machine was doing when this one began.
 */
async function settle() {
  const began = Date.now();
  // What the previous benchmark wrote (gigabytes of database files) is flushed now, not by the
  // kernel's writeback while this one measures.
  spawnSync('sync');
  let load = await machineLoad(QUIET_WINDOW_MS);
  while (load.percent >= QUIET_PERCENT && Date.now() - began < QUIET_DEADLINE_MS)
    load = await machineLoad(QUIET_WINDOW_MS);
  const waited = Math.round((Date.now() - began - QUIET_WINDOW_MS) / 1000);
  return load.percent >= QUIET_PERCENT
    ? `The machine was not quiet when this benchmark began: after ${waited} s of waiting, other processes still used ${load.text} over ${QUIET_WINDOW_MS / 1000} s.`
    : `When this benchmark began, other processes used ${load.text} over ${QUIET_WINDOW_MS / 1000} s${waited > 0 ? ` (after ${waited} s of waiting for them to finish)` : ''}.`;
}

/** Adds a note to a benchmark's result file (kept as it is when unreadable). */
function addNote(out, note) {
  try {
    const result = JSON.parse(readFileSync(out, 'utf8'));
    result.notes = [...(result.notes ?? []), note];
    writeFileSync(out, JSON.stringify(result, null, 2));
  } catch {
    // No result to add to: the crash record above already explains the run.
  }
}

/** Runs one benchmark; resolves with its exit code (null on timeout). */
function runOne(name, options, resultsDir, logsDir) {
  const { entry, fullMinutes } = BENCHMARKS[name];
  const out = join(resultsDir, `${name}.json`);
  const args = [join(dist, entry), '--out', out];
  if (options.quick) args.push('--quick');
  if (options.targets) args.push('--targets', options.targets);
  const limitMs = (options.quick ? QUICK_MINUTES : fullMinutes) * 60_000;
  const log = createWriteStream(join(logsDir, `${name}.log`));
  const began = Date.now();
  console.log(`[bench] ${name}: starting (limit ${limitMs / 60_000} min)`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.on('data', (chunk) => {
      log.write(chunk);
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      console.error(`[bench] ${name}: over ${limitMs / 60_000} min, killing it`);
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const seconds = Math.round((Date.now() - began) / 1000);
      console.log(
        `[bench] ${name}: ${code === 0 ? 'done' : `FAILED (exit ${code ?? signal})`} in ${seconds} s`,
      );
      if (code !== 0 && (signal !== null || !existsSync(out))) {
        // The process died before writing its own error: record that for the report.
        writeFileSync(
          out,
          JSON.stringify({
            name,
            title: name,
            quick: options.quick,
            startedAt: new Date(began).toISOString(),
            durationSec: seconds,
            method: '',
            tables: [],
            targets: [],
            notes: [],
            error: `the benchmark process ended with ${signal ?? `exit code ${code}`}; see tmp/bench/logs/${name}.log`,
          }),
        );
      }
      resolve(code);
    });
  });
}

/**
 * Copies the built server and web app aside so every benchmark runs the same
 * build, whatever happens to dist/ during the run; the children find them
 * through BENCH_SERVER_ENTRY and BENCH_WEB_DIST_DIR.
 */
function snapshotBuilds(base) {
  const snapshot = join(base, 'build');
  rmSync(snapshot, { recursive: true, force: true });
  for (const [from, to] of [
    ['dist/apps/server', 'server'],
    ['dist/apps/web', 'web'],
  ]) {
    if (!existsSync(join(root, from))) {
      console.error(`[bench] ${from} is missing: build it (or drop --no-build)`);
      process.exit(1);
    }
    cpSync(join(root, from), join(snapshot, to), { recursive: true });
  }
  process.env.BENCH_SERVER_ENTRY = join(snapshot, 'server/main.js');
  process.env.BENCH_WEB_DIST_DIR = join(snapshot, 'web');
}

/** The commit measured: short hash, `-dirty` when the tree has changes outside the report. */
function currentCommit() {
  const hash = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (hash.status !== 0) return 'unknown';
  const status = spawnSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' });
  const changed = status.stdout
    .split('\n')
    .filter((line) => line.trim() !== '' && !/(BENCHMARKS\.md|bench\/history\.json)$/.test(line));
  return `${hash.stdout.trim()}${changed.length > 0 ? '-dirty' : ''}`;
}

const options = parseArgs(process.argv.slice(2));
// Every result of this run names it and the commit, so the report can say where each figure is from.
process.env.BENCH_RUN_ID = new Date().toISOString();
process.env.BENCH_COMMIT = currentCommit();
if (options.build) build();
const base = join(root, 'tmp/bench');
snapshotBuilds(base);
const resultsDir = join(base, options.quick ? 'quick-results' : 'results');
const logsDir = join(base, 'logs');
mkdirSync(resultsDir, { recursive: true });
mkdirSync(logsDir, { recursive: true });

const names = options.only ?? Object.keys(BENCHMARKS);
const failed = [];
for (const name of names) {
  const machine = await settle();
  console.log(`[bench] ${name}: ${machine}`);
  const code = await runOne(name, options, resultsDir, logsDir);
  addNote(join(resultsDir, `${name}.json`), machine);
  if (code !== 0) failed.push(name);
}

const report = options.quick ? join(base, 'BENCHMARKS.md') : join(root, 'BENCHMARKS.md');
const written = spawnSync(
  process.execPath,
  [
    join(dist, 'report/main.js'),
    '--results',
    resultsDir,
    '--out',
    report,
    '--analysis',
    join(root, 'bench/analysis.md'),
    '--reasons',
    join(root, 'bench/missed.json'),
    // Only a full run of every benchmark adds a history row (quick figures are not
    // representative; an --only run is not a run of everything); others just show it.
    '--history',
    join(root, 'bench/history.json'),
    ...(options.quick || options.only !== undefined ? ['--no-history-entry'] : []),
  ],
  { cwd: root, stdio: 'inherit' },
);
if (written.status !== 0) process.exit(written.status ?? 1);
// Format like the rest of the repository (markdown tables aligned), so `npm run lint` stays clean.
const prettierConfig = (await prettier.resolveConfig(join(root, 'BENCHMARKS.md'))) ?? {};
writeFileSync(
  report,
  await prettier.format(readFileSync(report, 'utf8'), { ...prettierConfig, parser: 'markdown' }),
);
if (failed.length > 0)
  console.error(`[bench] failed: ${failed.join(', ')} (their sections say why)`);
process.exit(failed.length > 0 ? 1 : 0);
