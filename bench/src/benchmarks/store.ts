/**
 * The store: ingest and ack latency with SQLite and PostgreSQL (image frames
 * in rows, and in files under FRAMES_DIR) against the
 * in-memory server (STORE_ENGINE=memory) in the same run, QuerySeries over a
 * 1,000,000-point series, a restart over many stored runs, bytes on disk.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { DashboardService } from '@trainwatch/proto';
import { startPostgres, type TestPostgres } from '@trainwatch/testing';
import { sql } from 'kysely';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the store benchmark opens the server's own store (see common/store-fill.ts).
import {
  openDatabase,
  SQLITE_FILE,
  type OpenDatabase,
} from '../../../apps/server/src/store/open-database';
import { INGEST_RAMP_STEPS, maxSustained, ramp, stepTable } from '../common/ingest-ramp';
import { roundSequence } from '../common/paired-rounds';
import { runBench, type ResultTable, type TargetVerdict } from '../common/result';
import { ratio, summarize } from '../common/stats';
import { fillRun } from '../common/store-fill';
import { startProduct, type Target } from '../common/targets';
import { count, mb, ms, num, times } from '../common/format';

/** `postgres-files`: PostgreSQL with image frames in segment files (FRAMES_DIR), as compose runs it. */
type Engine = 'memory' | 'sqlite' | 'postgres' | 'postgres-files';

/** How an engine is named in tables and targets. */
const engineLabel = (engine: Engine): string =>
  engine === 'postgres-files' ? 'postgres, FRAMES_DIR' : engine;
/** Store parts whose figures do not depend on where frames are: measured on the three engines only. */
const FRAMELESS_ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

/**
 * Narrowing for targeted runs while iterating (a full run sets none of them):
 * STORE_BENCH_ENGINES=postgres (the in-memory baseline is kept when listed),
 * STORE_BENCH_STEPS=25 (ramp trainer counts), STORE_BENCH_ACK_TRAINERS=25,
 * STORE_BENCH_PARTS=ingest,ack,query,restart, STORE_BENCH_QUERY_ROUNDS=20,
 * STORE_BENCH_INGEST_ROUNDS=1.
 */
function listFromEnv(name: string): string[] | undefined {
  const value = process.env[name]?.trim();
  return value ? value.split(',').map((item) => item.trim()) : undefined;
}
const ONLY_ENGINES = listFromEnv('STORE_BENCH_ENGINES') as Engine[] | undefined;
const ONLY_PARTS = listFromEnv('STORE_BENCH_PARTS');
const STEPS_FROM_ENV = listFromEnv('STORE_BENCH_STEPS')?.map(Number);
const ACK_TRAINERS_FROM_ENV = Number(process.env['STORE_BENCH_ACK_TRAINERS']) || undefined;
const QUERY_ROUNDS_FROM_ENV = Number(process.env['STORE_BENCH_QUERY_ROUNDS']) || undefined;
const INGEST_ROUNDS_FROM_ENV = Number(process.env['STORE_BENCH_INGEST_ROUNDS']) || undefined;
/**
 * Ingest ramps per engine in a full run, in alternating order (memory, SQLite,
 * PostgreSQL, PostgreSQL with FRAMES_DIR, then the reverse): the same build's ceiling moved by a third
 * between ramps minutes apart on the 2-core machine, so one ramp each let the
 * machine's drift decide the ratio. Each engine's ceilings are summed over the
 * rounds and the ratio taken of the sums.
 */
const INGEST_ROUNDS = 2;
const frameless = (engines: readonly Engine[]): Engine[] =>
  engines.filter((engine) => FRAMELESS_ENGINES.includes(engine));
const wanted = (part: string): boolean => ONLY_PARTS === undefined || ONLY_PARTS.includes(part);
const withBaseline = (engines: Engine[]): Engine[] =>
  ONLY_ENGINES === undefined || ONLY_ENGINES.includes('memory') ? ['memory', ...engines] : engines;

/** A fresh, empty store of one engine: the server env that selects it, how to open it, how to measure it. */
interface EngineStore {
  env: Record<string, string>;
  open(): Promise<OpenDatabase>;
  /** Bytes the store takes on disk (SQLite files; PostgreSQL points + series_blocks with indexes). */
  bytes(): Promise<number>;
  /** Removes its files, and a PostgreSQL store's database (a later part must not share the server with its autovacuum). */
  remove(): Promise<void>;
}

async function newStore(engine: Engine, postgres: TestPostgres | undefined): Promise<EngineStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-bench-store-'));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  const remove = () => Promise.resolve(removeDir());
  if (engine === 'memory') {
    return {
      env: { STORE_ENGINE: 'memory', DATA_DIR: dataDir },
      open: () => Promise.reject(new Error('the memory engine has no store')),
      bytes: () => Promise.resolve(Number.NaN),
      remove,
    };
  }
  if (engine === 'sqlite') {
    return {
      env: { STORE_ENGINE: 'sqlite', DATA_DIR: dataDir },
      open: () => openDatabase({ engine: 'sqlite', dataDir }),
      bytes: () => {
        let total = 0;
        for (const suffix of ['', '-wal']) {
          try {
            total += statSync(join(dataDir, SQLITE_FILE + suffix)).size;
          } catch {
            // No WAL file after a clean close.
          }
        }
        return Promise.resolve(total);
      },
      remove,
    };
  }
  if (postgres === undefined) throw new Error('PostgreSQL is not running');
  const url = await postgres.createDatabase();
  // Frames in files: a folder inside dataDir, removed with it.
  const framesDir = engine === 'postgres-files' ? join(dataDir, 'frames') : undefined;
  return {
    env: {
      STORE_ENGINE: 'postgres',
      DATABASE_URL: url,
      DATA_DIR: dataDir,
      ...(framesDir === undefined ? {} : { FRAMES_DIR: framesDir }),
    },
    open: () => openDatabase({ engine: 'postgres', url, framesDir }),
    bytes: async () => {
      const open = await openDatabase({ engine: 'postgres', url });
      try {
        const row = await sql<{ bytes: number }>`
          select pg_total_relation_size('points') + pg_total_relation_size('series_blocks') as bytes`.execute(
          open.db,
        );
        return Number(row.rows[0]?.bytes);
      } finally {
        await open.close();
      }
    },
    remove: async () => {
      removeDir();
      await postgres.dropDatabase(url);
    },
  };
}

function dashboard(target: Target) {
  return createClient(
    DashboardService,
    createGrpcTransport({ baseUrl: `http://${target.grpcAddress}` }),
  );
}

interface QueryFigures {
  engine: Engine;
  points: number;
  /** Every call answered by the store (SERIES_CACHE_BYTES=0): what the target is about. */
  p50: number;
  p99: number;
  /** The first call after the server started (first connection, first statement plans), apart. */
  firstMs: number;
  /** The server as configured by default: a finished run's answers come from its answer cache. */
  cachedP50: number;
  cachedP99: number;
  buckets: number[];
  bytes: number;
}

const QUERY_WINDOWS = (points: number): [number, number | undefined][] => [
  [0, undefined],
  [0, Math.floor(points / 2)],
  [Math.floor(points / 2), undefined],
  [Math.floor(points / 5), Math.floor((points * 4) / 5)],
  [12_345, points - 12_345],
];

/** `rounds` × five windows against a server started with `env`; the first call is timed apart. */
async function timeQueries(
  env: Record<string, string>,
  points: number,
  rounds: number,
): Promise<{ firstMs: number; samples: number[]; buckets: number[] }> {
  const target = await startProduct(env);
  try {
    const client = dashboard(target);
    const samples: number[] = [];
    const buckets: number[] = [];
    const firstStart = performance.now();
    await client.querySeries({ sessionId: 'query-run', maxPoints: 2000 });
    const firstMs = performance.now() - firstStart;
    for (let round = 0; round < rounds; round++) {
      for (const [from, to] of QUERY_WINDOWS(points)) {
        const start = performance.now();
        const response = await client.querySeries({
          sessionId: 'query-run',
          maxPoints: 2000,
          fromStep: BigInt(from),
          ...(to === undefined ? {} : { toStep: BigInt(to) }),
        });
        samples.push(performance.now() - start);
        if (round === 0) buckets.push(response.series[0]?.steps.length ?? 0);
      }
    }
    return { firstMs, samples, buckets };
  } finally {
    await target.stop();
  }
}

/**
 * QuerySeries over one run of `points` steps, `rounds` times per window;
 * bytes on disk of that store. Measured twice: with the server's answer
 * cache off, so every call is computed by the store (a finished run's
 * answer is otherwise computed once per window and then served from
 * memory, and the p99 of such a series was its few computed calls), and
 * as the server runs by default.
 */
async function measureQueries(
  engine: Engine,
  postgres: TestPostgres | undefined,
  points: number,
  rounds: number,
): Promise<QueryFigures> {
  const store = await newStore(engine, postgres);
  try {
    const open = await store.open();
    try {
      await fillRun(open, 'query-run', points, Date.now() - points);
    } finally {
      await open.close();
    }
    const bytes = await store.bytes();
    const computed = await timeQueries({ ...store.env, SERIES_CACHE_BYTES: '0' }, points, rounds);
    const cached = await timeQueries(store.env, points, rounds);
    const summary = summarize(computed.samples);
    const cachedSummary = summarize(cached.samples);
    return {
      engine,
      points,
      p50: summary.p50,
      p99: summary.p99,
      firstMs: computed.firstMs,
      cachedP50: cachedSummary.p50,
      cachedP99: cachedSummary.p99,
      buckets: computed.buckets,
      bytes,
    };
  } finally {
    await store.remove();
  }
}

interface RestartFigures {
  engine: Engine;
  runs: number;
  steps: number;
  fillSeconds: number;
  bootMs: number;
  listMs: number;
  listed: number;
}

/** Stores `runs` finished runs of `steps` points, then times a server start until ListSessions answers. */
async function measureRestart(
  engine: Engine,
  postgres: TestPostgres | undefined,
  runs: number,
  steps: number,
): Promise<RestartFigures> {
  const store = await newStore(engine, postgres);
  try {
    const fillStart = performance.now();
    const open = await store.open();
    try {
      for (let run = 0; run < runs; run++) {
        await fillRun(open, `run-${String(run).padStart(3, '0')}`, steps, Date.now() - steps);
      }
    } finally {
      await open.close();
    }
    const fillSeconds = (performance.now() - fillStart) / 1000;
    const start = performance.now();
    const target = await startProduct(store.env);
    try {
      const booted = performance.now();
      const response = await dashboard(target).listSessions({ pageSize: 100 });
      const done = performance.now();
      return {
        engine,
        runs,
        steps,
        fillSeconds,
        bootMs: booted - start,
        listMs: done - start,
        listed: Number(response.totalSize),
      };
    } finally {
      await target.stop();
    }
  } finally {
    await store.remove();
  }
}

runBench(
  'store',
  'Store: ingest, ack latency, QuerySeries, restart and bytes on disk',
  async ({ quick }) => {
    const notes: string[] = [];
    const tables: ResultTable[] = [];
    const targets: TargetVerdict[] = [];
    let postgres: TestPostgres | undefined;
    try {
      postgres = await startPostgres();
    } catch (error) {
      notes.push(
        `PostgreSQL not measured: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const rounds = INGEST_ROUNDS_FROM_ENV ?? (quick ? 1 : INGEST_ROUNDS);
    const engines = (
      postgres === undefined ? ['sqlite'] : ['sqlite', 'postgres', 'postgres-files']
    ).filter(
      (engine) => ONLY_ENGINES === undefined || ONLY_ENGINES.includes(engine as Engine),
    ) as Engine[];
    try {
      // 1. Ingest ceiling at 16 × 2 KB, each engine against the in-memory server.
      const warmupMs = quick ? 500 : 3000;
      const windowMs = quick ? 1500 : 8000;
      const steps = STEPS_FROM_ENV ?? (quick ? [5] : INGEST_RAMP_STEPS);
      /** Each engine's sustained ceiling per round, in round order. */
      const ceilings = new Map<Engine, number[]>();
      for (let round = 0; round < rounds; round++) {
        for (const engine of wanted('ingest') ? roundSequence(withBaseline(engines), round) : []) {
          const store = await newStore(engine, postgres);
          try {
            const results = await ramp({
              kind: 'product',
              imageSize: 2048,
              metricCount: 0,
              steps,
              warmupMs,
              windowMs,
              notes,
              env: store.env,
              label:
                rounds > 1 ? `${engineLabel(engine)} (round ${round + 1})` : engineLabel(engine),
            });
            const ceiling = maxSustained(results)?.trainers ?? 0;
            ceilings.set(engine, [...(ceilings.get(engine) ?? []), ceiling]);
            tables.push(
              stepTable(
                `Ingest ramp, STORE_ENGINE=${engineLabel(engine)}, 16 × 2 KB images${rounds > 1 ? `, round ${round + 1} of ${rounds}` : ''}`,
                results,
              ),
            );
          } finally {
            await store.remove();
          }
        }
      }
      const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
      const memoryCeilings = ceilings.get('memory') ?? [];
      for (const engine of wanted('ingest') ? engines : []) {
        const own = ceilings.get(engine) ?? [];
        const share = ratio(sum(own), sum(memoryCeilings));
        targets.push({
          target: `Ingest with ${engineLabel(engine)} ≥ 0.8× the in-memory server (16 × 2 KB)`,
          measured: `${own.join(' + ')} vs ${memoryCeilings.join(' + ')} trainers (${times(share)})`,
          met: quick ? null : share >= 0.8,
        });
      }

      // 2. Ack latency at 50 trainers (5 in quick runs).
      const trainers = ACK_TRAINERS_FROM_ENV ?? (quick ? 5 : 50);
      const ackRows: string[][] = [];
      for (const engine of wanted('ack') ? withBaseline(engines) : []) {
        const store = await newStore(engine, postgres);
        try {
          const [step] = await ramp({
            kind: 'product',
            imageSize: 2048,
            metricCount: 0,
            steps: [trainers],
            warmupMs,
            windowMs: quick ? 2000 : 20_000,
            notes,
            env: store.env,
            label: `${engineLabel(engine)} acks`,
            ackLatency: true,
          });
          ackRows.push([
            engineLabel(engine),
            String(trainers),
            count(step?.ackedPerSec ?? Number.NaN),
            ms(step?.ackP50Ms ?? Number.NaN),
            ms(step?.ackP99Ms ?? Number.NaN),
            `${ms(step?.serverAckP50Ms ?? Number.NaN)} / ${ms(step?.serverAckP99Ms ?? Number.NaN)}`,
            ms(step?.benchLoopDelayP99Ms ?? Number.NaN),
            step?.sustained ? 'yes' : 'no',
          ]);
          if (engine !== 'memory') {
            targets.push({
              target: `Ack p99 ≤ 30 ms at 50 trainers (${engineLabel(engine)})`,
              measured: `${ms(step?.ackP99Ms ?? Number.NaN)} at ${trainers} trainers (the server's own arrival → ack p99 ${ms(step?.serverAckP99Ms ?? Number.NaN)})`,
              met: quick ? null : (step?.ackP99Ms ?? Infinity) <= 30,
            });
          }
        } finally {
          await store.remove();
        }
      }
      tables.push({
        caption:
          "Send → ack latency (each trainer 60 msg/s, 16 × 2 KB images); the server's own part, arrival → ack sent (its ack histogram, interpolated in buckets of 1, 2, 5, 10, 20, 30, 50, 100, 250 ms...); the load generator's event-loop delay",
        columns: [
          'engine',
          'trainers',
          'acked msg/s',
          'ack p50',
          'ack p99',
          'server arrival → ack p50 / p99',
          'load generator loop delay p99',
          'sustained',
        ],
        rows: ackRows,
      });

      // 3. QuerySeries over one long series, and its bytes on disk.
      const points = quick ? 300_000 : 1_000_000;
      const queryRows: string[][] = [];
      for (const engine of wanted('query') ? frameless(engines) : []) {
        const figures = await measureQueries(
          engine,
          postgres,
          points,
          QUERY_ROUNDS_FROM_ENV ?? (quick ? 3 : 20),
        );
        queryRows.push([
          engine,
          count(figures.points),
          figures.buckets.join(', '),
          ms(figures.p50),
          ms(figures.p99),
          ms(figures.firstMs),
          `${ms(figures.cachedP50)} / ${ms(figures.cachedP99)}`,
          mb((figures.bytes / figures.points) * 1e6),
        ]);
        targets.push({
          target: `QuerySeries over a 1,000,000-point series, 2,000 buckets ≤ 50 ms (${engine}, p99)`,
          measured: `p50 ${ms(figures.p50)}, p99 ${ms(figures.p99)} over ${count(figures.points)} points`,
          met: quick ? null : figures.p99 <= 50,
        });
      }
      tables.push({
        caption:
          'QuerySeries (max_points 2,000) over five windows of one series, every call computed by the store ' +
          '(SERIES_CACHE_BYTES=0); the first call after start apart; p50 / p99 with the answer cache on; ' +
          'bytes on disk per 1,000,000 points',
        columns: [
          'engine',
          'points',
          'buckets per window',
          'p50',
          'p99',
          'first call',
          'cached p50 / p99',
          'bytes / 1M points',
        ],
        rows: queryRows,
      });

      // 4. Restart over many stored runs.
      const runs = quick ? 10 : 100;
      const runSteps = quick ? 10_000 : 100_000;
      const restartRows: string[][] = [];
      for (const engine of wanted('restart') ? frameless(engines) : []) {
        const figures = await measureRestart(engine, postgres, runs, runSteps);
        restartRows.push([
          engine,
          `${figures.runs} × ${count(figures.steps)}`,
          num(figures.fillSeconds, 1),
          ms(figures.bootMs),
          ms(figures.listMs),
          String(figures.listed),
        ]);
        targets.push({
          target: `Restart with 100 runs × 100,000 steps answers ListSessions ≤ 2 s (${engine})`,
          measured: `${ms(figures.listMs)} from process start (${figures.runs} × ${count(figures.steps)})`,
          met: quick ? null : figures.listMs <= 2000 && figures.listed === figures.runs,
        });
      }
      tables.push({
        caption: 'Restart: server process start → first ListSessions answered',
        columns: [
          'engine',
          'runs × steps',
          'fill s',
          'healthy after',
          'ListSessions after',
          'listed',
        ],
        rows: restartRows,
      });
    } finally {
      await postgres?.destroy();
    }
    return {
      method:
        'Ingest: the ingest ramp (trainers at 60 msg/s with 16 × 2 KB images) against the server with each ' +
        'STORE_ENGINE (PostgreSQL twice: image frames in its rows, and in segment files under FRAMES_DIR as ' +
        'compose runs it), the in-memory server as baseline, ' +
        (rounds > 1
          ? `in ${rounds} rounds of alternating order (memory, SQLite, PostgreSQL, PostgreSQL with FRAMES_DIR, ` +
            'then the reverse); an ' +
            "engine's ratio is its ceilings summed over the rounds against the in-memory server's. "
          : 'one ramp each. ') +
        'Ack latency: send → ack of every message over a window at ' +
        'a fixed number of trainers (acks come in send order per stream). QuerySeries and restart (which read ' +
        'no frames: SQLite and PostgreSQL only): the store is ' +
        'filled directly (points and series blocks, as the writer stores them; no gRPC), then a server is started ' +
        'on it and called over native gRPC. Bytes on disk: the SQLite file (and WAL), or ' +
        'pg_total_relation_size of points and series_blocks.',
      tables,
      targets,
      notes,
    };
  },
);
