/**
 * Runs page: 10,000 stored runs (written straight into SQLite), the list
 * opened in headless Chromium and scrolled: frames per second while it
 * scrolls, how long a far jump takes to show its rows, and a search.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '@trainwatch/testing';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the store is filled directly (see common/store-fill.ts).
import { openDatabase } from '../../../apps/server/src/store/open-database';
import { measureFrames, painted } from '../browser/frame-window';
import { installFrameProbes } from '../browser/page-probes';
import { profiled } from '../browser/profiled';
import { count, ms, num } from '../common/format';
import { runBench, type TargetVerdict } from '../common/result';
import { fillRunRows } from '../common/store-fill';
import { startProduct } from '../common/targets';

const RUNS = 10_000;
const TARGET_FPS = 55;
/** Pixels the list moves per animation frame while scrolling: about 8 rows, a brisk wheel. */
const SCROLL_PX_PER_FRAME = 600;

runBench('runs-page', 'Runs page: 10,000 runs, scrolled in Chromium', async ({ quick }) => {
  const scrollMs = quick ? 4000 : 20_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-bench-runs-'));
  const fillStart = performance.now();
  const open = await openDatabase({ engine: 'sqlite', dataDir });
  try {
    await fillRunRows(open, RUNS, Date.now() - RUNS * 1000);
  } finally {
    await open.close();
  }
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const target = await startProduct({ STORE_ENGINE: 'sqlite', DATA_DIR: dataDir });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript(installFrameProbes);
    const opened = performance.now();
    await page.goto(`${target.httpUrl}/#/`);
    await page.waitForSelector('[data-testid="session-row"]', { timeout: 30_000 });
    await painted(page);
    const firstRowsMs = performance.now() - opened;
    const rows = Number(await page.getByTestId('runs-scroller').getAttribute('data-rows'));

    // Scroll down at a steady speed, one step per animation frame, as a wheel would.
    const scrolled = await profiled(page, 'scroll', () =>
      measureFrames(page, () =>
        page.evaluate(
          ({ durationMs, step }) =>
            new Promise<void>((resolve) => {
              const scroller = document.querySelector<HTMLElement>('[data-testid="runs-scroller"]');
              if (!scroller) throw new Error('no runs list');
              const began = performance.now();
              const tick = (): void => {
                scroller.scrollTop += step;
                if (performance.now() - began < durationMs) requestAnimationFrame(tick);
                else resolve();
              };
              requestAnimationFrame(tick);
            }),
          { durationMs: scrollMs, step: SCROLL_PX_PER_FRAME },
        ),
      ),
    );
    const reached = Number(await page.getByTestId('runs-scroller').getAttribute('data-last-row'));

    // Jump to the end: the pages on the way are walked by token, then the last rows show.
    const jumped = performance.now();
    await page.evaluate(() => {
      const scroller = document.querySelector<HTMLElement>('[data-testid="runs-scroller"]');
      if (scroller) scroller.scrollTop = scroller.scrollHeight;
    });
    await page.waitForSelector(`[data-testid="session-row"][data-index="${rows - 1}"]`, {
      timeout: 60_000,
    });
    await painted(page);
    const endMs = performance.now() - jumped;

    // Search: the list narrows to the matches.
    const searched = performance.now();
    await page.getByTestId('runs-search').fill('sweep 42 ');
    await page.waitForFunction(
      () => {
        const shown = Number(
          document.querySelector('[data-testid="runs-scroller"]')?.getAttribute('data-rows'),
        );
        return shown > 0 && shown < 1000;
      },
      undefined,
      { timeout: 30_000 },
    );
    await painted(page);
    const searchMs = performance.now() - searched;
    const matches = Number(await page.getByTestId('runs-scroller').getAttribute('data-rows'));
    await page.close();

    const targets: TargetVerdict[] = [
      {
        target: `Runs page with ${count(RUNS)} runs scrolls at ≥ ${TARGET_FPS} fps`,
        measured: `${num(scrolled.fps)} fps over ${num(scrolled.seconds)} s`,
        met: quick ? null : scrolled.fps >= TARGET_FPS,
      },
    ];
    return {
      method:
        `${count(RUNS)} finished runs are written straight into a SQLite store, the built server started on it, and ` +
        'the runs page opened in headless Chromium (1280×900). An in-page loop moves the list by ' +
        `${SCROLL_PX_PER_FRAME} px every animation frame for ${scrollMs / 1000} s while the frame probes count frames ` +
        'and long tasks; then the list is thrown to its end, and a search typed.',
      tables: [
        {
          caption: `Runs page over ${count(RUNS)} stored runs (filled in ${num(fillSeconds)} s)`,
          columns: ['measure', 'value'],
          rows: [
            ['open → first rows painted', ms(firstRowsMs)],
            ['rows in the list', count(rows)],
            [
              `scrolling ${SCROLL_PX_PER_FRAME} px per frame`,
              `${num(scrolled.fps)} fps, ${count(scrolled.longTasks)} long tasks (${ms(scrolled.longTaskMs)} in all)`,
            ],
            ['last row reached while scrolling', count(reached)],
            ['jump to the end → last row painted', ms(endMs)],
            ['search typed → matches listed', `${ms(searchMs)} (${count(matches)} runs)`],
          ],
        },
      ],
      targets,
      notes: [],
    };
  } finally {
    await browser.close();
    await target.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
