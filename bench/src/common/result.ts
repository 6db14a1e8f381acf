import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One table of figures, already formatted for reading. */
export interface ResultTable {
  caption: string;
  columns: string[];
  rows: string[][];
}

/** A target from the issue and whether this run reached it. */
export interface TargetVerdict {
  target: string;
  measured: string;
  /** null when the run could not measure it. */
  met: boolean | null;
  /** Why it was missed (or could not be measured), in words. */
  why?: string;
}

/** What one benchmark process writes (JSON) for the report. */
export interface BenchResult {
  name: string;
  title: string;
  quick: boolean;
  startedAt: string;
  durationSec: number;
  /** How the figures were produced, in a sentence or two. */
  method: string;
  tables: ResultTable[];
  targets: TargetVerdict[];
  notes: string[];
  /** Set when the benchmark failed; the report shows it instead of figures. */
  error?: string;
  /** The `npm run bench` run this result belongs to (its start, ISO), from BENCH_RUN_ID. */
  runId?: string;
  /** The commit measured (short hash, `-dirty` with local changes), from BENCH_COMMIT. */
  commit?: string;
}

/** Options every benchmark process accepts. */
export interface BenchOptions {
  quick: boolean;
  out: string | undefined;
  /** Which sides to run (`--targets product,relay`); both by default. */
  targets: ReadonlySet<'product' | 'relay'>;
}

/** Parses `--quick`, `--out <file>` and `--targets <list>` from argv. Unknown flags are an error. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    quick: false,
    out: undefined,
    targets: new Set(['product', 'relay']),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--out') {
      const value = argv[++i];
      if (value === undefined) throw new Error('--out needs a file name');
      options.out = value;
    } else if (arg === '--targets') {
      const kinds = (argv[++i] ?? '').split(',').filter((kind) => kind !== '');
      const bad = kinds.filter((kind) => kind !== 'product' && kind !== 'relay');
      if (kinds.length === 0 || bad.length > 0)
        throw new Error(`--targets takes product and/or relay, got ${kinds.join(',')}`);
      options.targets = new Set(kinds as ('product' | 'relay')[]);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

/** What a benchmark body returns; the runner adds name, timing and mode. */
export type BenchBody = Omit<
  BenchResult,
  'name' | 'title' | 'quick' | 'startedAt' | 'durationSec' | 'runId' | 'commit'
>;

/**
 * Runs one benchmark body as this process' job: prints the result, writes it
 * as JSON to --out, and exits non-zero (still writing the error) on failure.
 */
export function runBench(
  name: string,
  title: string,
  body: (options: BenchOptions) => Promise<BenchBody>,
): void {
  const options = parseBenchArgs(process.argv.slice(2));
  const startedAt = new Date();
  const began = performance.now();
  const finish = (result: BenchResult, code: number) => {
    const json = JSON.stringify(result, null, 2);
    if (options.out) {
      mkdirSync(dirname(options.out), { recursive: true });
      writeFileSync(options.out, json);
    }
    console.log(json);
    process.exit(code);
  };
  const base = {
    name,
    title,
    quick: options.quick,
    startedAt: startedAt.toISOString(),
    // Set by run-all.mjs, so the report can tell which run and commit each figure comes from.
    runId: process.env['BENCH_RUN_ID'],
    commit: process.env['BENCH_COMMIT'],
  };
  body(options).then(
    (result) => finish({ ...base, durationSec: (performance.now() - began) / 1000, ...result }, 0),
    (error: unknown) =>
      finish(
        {
          ...base,
          durationSec: (performance.now() - began) / 1000,
          method: '',
          tables: [],
          targets: [],
          notes: [],
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        },
        1,
      ),
  );
}
