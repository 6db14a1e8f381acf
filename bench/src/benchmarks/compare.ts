/**
 * Compare view: 20 stored runs × 10 series × 100,000 steps (written straight
 * into SQLite), opened in headless Chromium: time until every chart is
 * painted, then frames per second while charts are zoomed and reset.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '@trainwatch/testing';
import type { Page } from 'playwright-core';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the store is filled directly (see common/store-fill.ts).
import { openDatabase } from '../../../apps/server/src/store/open-database';
import { measureFrames, painted } from '../browser/frame-window';
import { installFrameProbes } from '../browser/page-probes';
import { profiled } from '../browser/profiled';
import { count, ms, num } from '../common/format';
import { runBench, type TargetVerdict } from '../common/result';
import { summarize } from '../common/stats';
import { fillRun } from '../common/store-fill';
import { startProduct } from '../common/targets';

const RUNS = 20;
const SERIES = 10;
const OPEN_TARGET_MS = 1500;
const TARGET_FPS = 50;

const SERIES_NAMES = ['loss', ...Array.from({ length: SERIES - 1 }, (_, i) => `metric/m${i}`)];

/** True once every chart of the compare view is drawn with every run's points. */
function chartsReady(page: Page, charts: number, runs: number): Promise<unknown> {
  return page.waitForFunction(
    ({ charts: wanted, runs: perChart }) => {
      const drawn = [...document.querySelectorAll('[data-testid="compare-chart"]')].filter(
        (chart) =>
          Number(chart.getAttribute('data-runs')) === perChart &&
          Number(chart.getAttribute('data-points')) > 0 &&
          chart.querySelector('.u-over') !== null,
      );
      return drawn.length >= wanted;
    },
    { charts, runs },
    { timeout: 60_000, polling: 'raf' },
  );
}

/** When the page's last QuerySeries answer had arrived, ms after navigation (resource timing). */
function lastAnswerMs(page: Page): Promise<number> {
  return page.evaluate(() =>
    Math.max(
      0,
      ...performance
        .getEntriesByType('resource')
        .filter((entry) => entry.name.endsWith('/QuerySeries'))
        .map((entry) => (entry as PerformanceResourceTiming).responseEnd),
    ),
  );
}

/** One zoom drag across a third of the first chart, then a double click back out; ms until painted. */
async function zoomAndReset(page: Page, at: number): Promise<number> {
  const box = await page.locator('[data-testid="compare-chart"] .u-over').first().boundingBox();
  if (!box) throw new Error('no compare chart on the page');
  const y = box.y + box.height / 2;
  const from = box.x + box.width * (0.1 + 0.5 * at);
  const began = performance.now();
  await page.mouse.move(from, y);
  await page.mouse.down();
  await page.mouse.move(from + box.width * 0.15, y, { steps: 4 });
  await page.mouse.move(from + box.width * 0.3, y, { steps: 4 });
  await page.mouse.up();
  await painted(page);
  const zoomed = performance.now() - began;
  await page.mouse.dblclick(box.x + box.width / 2, y);
  await painted(page);
  return zoomed;
}

runBench(
  'compare',
  'Compare view: 20 runs × 10 series × 100,000 steps in Chromium',
  async ({ quick }) => {
    // Quick runs keep the full 100,000 steps (about 30 s to fill): a shorter series is read
    // point by point rather than from the stored blocks, so it would time another path.
    const steps = 100_000;
    const gestures = quick ? 4 : 12;
    const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-bench-compare-'));
    const fillStart = performance.now();
    const open = await openDatabase({ engine: 'sqlite', dataDir });
    const ids = Array.from({ length: RUNS }, (_, i) => `cmp-${String(i).padStart(2, '0')}`);
    try {
      for (const [index, id] of ids.entries()) {
        await fillRun(open, id, steps, Date.now() - (RUNS - index) * steps, SERIES_NAMES);
      }
    } finally {
      await open.close();
    }
    const fillSeconds = (performance.now() - fillStart) / 1000;
    const target = await startProduct({ STORE_ENGINE: 'sqlite', DATA_DIR: dataDir });
    const browser = await launchChromium();
    try {
      const url = `${target.httpUrl}/#/compare?runs=${ids.join(',')}`;
      // A first visit warms the server's page cache and the browser's code cache, as a person
      // coming back to the view would find them; the second is timed.
      // It is timed too: on it the server reads every run from SQLite (no answer kept yet).
      const warm = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const firstOpened = performance.now();
      await warm.goto(url);
      await chartsReady(warm, SERIES, RUNS);
      await painted(warm);
      const firstOpenMs = performance.now() - firstOpened;
      const firstAnswersMs = await lastAnswerMs(warm);
      await warm.close();

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.addInitScript(installFrameProbes);
      const opened = performance.now();
      await profiled(page, 'open', async () => {
        await page.goto(url);
        await chartsReady(page, SERIES, RUNS);
        await painted(page);
      });
      const openMs = performance.now() - opened;
      const answersMs = await lastAnswerMs(page);

      const zooms: number[] = [];
      const frames = await profiled(page, 'zoom', () =>
        measureFrames(page, async () => {
          for (let i = 0; i < gestures; i++) zooms.push(await zoomAndReset(page, i / gestures));
        }),
      );
      const zoom = summarize(zooms);
      await page.close();

      const targets: TargetVerdict[] = [
        {
          target: `Compare view of ${RUNS} runs × ${SERIES} series × ${count(100_000)} steps opens in ≤ ${ms(OPEN_TARGET_MS)}`,
          measured: ms(openMs),
          met: quick ? null : openMs <= OPEN_TARGET_MS,
        },
        {
          target: `…and pans and zooms at ≥ ${TARGET_FPS} fps`,
          measured: `${num(frames.fps)} fps over ${gestures} zoom-and-reset gestures`,
          met: quick ? null : frames.fps >= TARGET_FPS,
        },
      ];
      return {
        method:
          `${RUNS} finished runs of ${SERIES} step series each are written straight into a SQLite store (points and ` +
          'series blocks as the writer stores them), the built server started on it, and the compare view of all of ' +
          'them opened in headless Chromium (1280×900), once to warm caches and once timed: from navigation until ' +
          'every chart holds every run and the page has painted (charts off screen draw when they scroll in). The first visit is reported too: on it the server reads ' +
          'every run from SQLite, on the second it answers from its cache of finished runs (SERIES_CACHE_BYTES). Then a zoom drag across a third of the first chart and a ' +
          'double click back out, repeated, while the frame probes count frames and long tasks.',
        tables: [
          {
            caption: `Compare view: ${RUNS} runs × ${SERIES} series × ${count(steps)} steps (${count(RUNS * SERIES * steps)} points, filled in ${num(fillSeconds)} s)`,
            columns: ['measure', 'value'],
            rows: [
              [
                'open → every chart on screen painted (the rest draw as they scroll in)',
                ms(openMs),
              ],
              ['…of which the QuerySeries answers (last one in)', ms(answersMs)],
              ['first visit (server reads every run from SQLite)', ms(firstOpenMs)],
              ['…of which the QuerySeries answers (last one in)', ms(firstAnswersMs)],
              [
                'zoom drag → zoomed chart painted',
                `p50 ${ms(zoom.p50)}, max ${ms(zoom.max)} (${gestures} gestures)`,
              ],
              [
                'frame rate while zooming and resetting',
                `${num(frames.fps)} fps, ${count(frames.longTasks)} long tasks (${ms(frames.longTaskMs)} in all)`,
              ],
            ],
          },
        ],
        targets,
        notes: quick ? [`Quick run: ${gestures} zoom gestures instead of 12.`] : [],
      };
    } finally {
      await browser.close();
      await target.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);
