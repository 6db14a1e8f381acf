import { SessionOrder, TrainingStatus } from '@trainwatch/proto';
import { sql } from 'kysely';
import type { OpenDatabase } from '../src/store/open-database';
import { encodePageToken, displayKey, orderOf } from '../src/store/session-order';
import { StoreReads, type SessionFilter } from '../src/store/store-reads';
import type { SessionRow } from '../src/store/stored-summary';
import { STORE_ENGINES, type StoreEngineFixture, type TestStore } from './store-engines';

/** Runs stored: the runs page's scale target. */
const RUNS = 10_000;
/** What the dashboard asks per page (SESSIONS_PAGE_SIZE), plus the one row that says "more". */
const PAGE = 101;
/**
 * What one ListSessions page may cost in the store (the page and the count),
 * median of several: a page per scroll stop must feel instant. Generous for a
 * shared 2-core machine; an unindexed order at 10,000 runs sorts every row.
 */
const PAGE_BUDGET_MS = 40;

const none: SessionFilter = { statuses: [], text: '', tags: [], ids: [], excludeIds: [] };

async function fill(open: OpenDatabase): Promise<void> {
  for (let start = 0; start < RUNS; start += 500) {
    const rows = [];
    for (let i = start; i < Math.min(RUNS, start + 500); i++) {
      rows.push({
        id: `run-${String(i).padStart(5, '0')}`,
        // A third of the runs have no display name (listed by id).
        name: i % 3 === 0 ? '' : `Experiment ${(i * 7919) % RUNS}`,
        created_at_ms: 1_000 + i,
        last_update_ms: 50_000 + ((i * 31) % RUNS),
        last_seen_ms: 0,
        status: i % 10 === 0 ? TrainingStatus.FAILED : TrainingStatus.COMPLETED,
        connection: 1,
        model_name: i % 2 === 0 ? 'resnet' : 'vit',
        dataset_name: 'cifar',
      });
    }
    await open.db.insertInto('sessions').values(rows).execute();
  }
}

function positionOf(order: SessionOrder, row: SessionRow): { key: number | string; id: string } {
  const key = orderOf(order).key;
  return {
    key:
      key === 'name'
        ? displayKey(row.name, row.id)
        : key === 'updated'
          ? Number(row.last_update_ms)
          : Number(row.created_at_ms),
    id: row.id,
  };
}

async function medianMs(times: number, run: () => Promise<unknown>): Promise<number> {
  const took: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run();
    took.push(performance.now() - started);
  }
  took.sort((a, b) => a - b);
  return took[Math.floor(took.length / 2)] ?? Number.NaN;
}

/** ListSessions' store reads at 10,000 stored runs, in every order, at the top and deep in the list. */
describe.each(STORE_ENGINES)('runs list at 10,000 runs on %s', (_name, makeFixture) => {
  const fixture: StoreEngineFixture = makeFixture();
  let store: TestStore;
  let open: OpenDatabase;
  let reads: StoreReads;
  beforeAll(async () => {
    await fixture.setUp();
    store = await fixture.newStore();
    open = await store.open();
    reads = new StoreReads(open.db);
    await fill(open);
  }, 120_000);
  afterAll(async () => {
    await open?.close();
    store?.remove();
    await fixture.tearDown();
  });

  it.each([
    ['newest', SessionOrder.UNSPECIFIED],
    ['oldest', SessionOrder.CREATED_ASC],
    ['recently updated', SessionOrder.UPDATED_DESC],
    ['name', SessionOrder.NAME_ASC],
  ])('answers a page in %s order fast, first and deep, every run once', async (_order, order) => {
    // Walk every page once, as a scroll to the end does: each run once, in order.
    const seen = new Set<string>();
    let after: { key: number | string; id: string } | undefined;
    let deepAfter: typeof after;
    for (;;) {
      const rows = await reads.listSessions(none, order, after, PAGE - 1);
      for (const row of rows) seen.add(row.id);
      const last = rows.at(-1);
      if (rows.length < PAGE - 1 || last === undefined) break;
      after = positionOf(order, last);
      if (seen.size === RUNS / 2) deepAfter = after;
    }
    expect(seen.size).toBe(RUNS);
    // The token a client would send for the middle page round-trips.
    expect(encodePageToken(order, deepAfter!)).not.toBe('');

    const first = await medianMs(7, () =>
      Promise.all([reads.listSessions(none, order, undefined, PAGE), reads.countSessions(none)]),
    );
    const deep = await medianMs(7, () =>
      Promise.all([reads.listSessions(none, order, deepAfter, PAGE), reads.countSessions(none)]),
    );
    console.log(
      `${_name} ${_order}: first page ${first.toFixed(1)} ms, middle ${deep.toFixed(1)} ms`,
    );
    expect(first).toBeLessThan(PAGE_BUDGET_MS);
    expect(deep).toBeLessThan(PAGE_BUDGET_MS);
  });

  it('narrows by text and status at 10,000 runs within the same budget', async () => {
    const filter: SessionFilter = {
      ...none,
      text: 'experiment 12',
      statuses: [TrainingStatus.COMPLETED],
    };
    const rows = await reads.listSessions(filter, SessionOrder.NAME_ASC, undefined, PAGE);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.name.toLowerCase()).toContain('experiment 12');
    const took = await medianMs(7, () =>
      Promise.all([
        reads.listSessions(filter, SessionOrder.NAME_ASC, undefined, PAGE),
        reads.countSessions(filter),
      ]),
    );
    console.log(`${_name} text + status: ${took.toFixed(1)} ms`);
    expect(took).toBeLessThan(PAGE_BUDGET_MS);
  });

  // PostgreSQL's planner picks by cost (at 10,000 small rows a sort may win); SQLite uses an
  // index whenever the expression matches, so the plan is checked there.
  it('reads the name order from an index on SQLite, not a sort of every run', async () => {
    if (open.engine !== 'sqlite') return;
    const plan =
      await sql`explain query plan select * from sessions order by lower(case when name = '' then id else name end) asc, id asc limit 101`.execute(
        open.db,
      );
    expect(JSON.stringify(plan.rows)).toMatch(/sessions_display_name/);
    expect(JSON.stringify(plan.rows)).not.toMatch(/TEMP B-TREE/);
  });
});
