import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  launchChromium,
  startServerProcess,
  WORKSPACE_ROOT,
  type ServerProcess,
} from '@trainwatch/testing';
import type { Browser, Page } from 'playwright-core';
import { fillStoredRuns, scaleRunId, scaleRunName } from './support/fill-runs';
import { readmeScreenshot } from './support/readme-screenshot';
import { RUN_ROW_HEIGHT_PX } from './support/runs-list';

const RUNS = 10_000;
const WEB_DIST = join(WORKSPACE_ROOT, 'dist/apps/web');
const scroller = '[data-testid="runs-scroller"]';

/** Scrolls the runs list to `fraction` of its height (1: the end). */
async function scrollTo(page: Page, fraction: number): Promise<void> {
  await page.evaluate(
    ({ selector, at }) => {
      const list = document.querySelector<HTMLElement>(selector);
      if (list) list.scrollTop = at * (list.scrollHeight - list.clientHeight);
    },
    { selector: scroller, at: fraction },
  );
}

/** The id shown in the list row at `index`, once that row's page has arrived. */
async function idAt(page: Page, index: number): Promise<string | null> {
  const row = page.locator(`[data-testid="session-row"][data-index="${index}"]`);
  await row.waitFor({ timeout: 30_000 });
  return row.getAttribute('data-session-id');
}

/**
 * The runs page over 10,000 stored runs (written straight into the store):
 * only the rows on screen exist; scrolling to the middle and to the end shows
 * the right runs in the right places; a search narrows the list on the
 * server; two runs picked far apart open the compare view.
 */
describe('runs page at 10,000 runs', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-e2e-scale-'));
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await fillStoredRuns(dataDir, RUNS);
    server = await startServerProcess({
      env: { WEB_DIST_DIR: WEB_DIST, STORE_ENGINE: 'sqlite', DATA_DIR: dataDir },
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it('lists every run, scrolls to the middle and the end, narrows by search, compares two', async () => {
    await page.goto(server.httpUrl);
    // Newest first: row 0 is the last run written.
    expect(await idAt(page, 0)).toBe(scaleRunId(RUNS - 1));
    await page
      .getByTestId('sessions-count')
      .filter({ hasText: `${RUNS} runs` })
      .waitFor();
    expect(await page.locator(scroller).getAttribute('data-rows')).toBe(String(RUNS));
    // Only the rows near the view exist, each of the one row height.
    expect(await page.getByTestId('session-row').count()).toBeLessThan(60);
    const heights = await page
      .getByTestId('session-row')
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).offsetHeight));
    expect(new Set(heights)).toEqual(new Set([RUN_ROW_HEIGHT_PX]));
    await readmeScreenshot('runs-page', page);
    await page.getByTestId('run-select').first().check();

    // The middle: pages walked by token, the row in its place.
    await scrollTo(page, 0.5);
    await page.waitForFunction(
      ({ selector, past }) =>
        Number(document.querySelector(selector)?.getAttribute('data-first-row')) > past,
      { selector: scroller, past: RUNS / 3 },
    );
    const middle = Number(await page.locator(scroller).getAttribute('data-first-row'));
    expect(await idAt(page, middle + 5)).toBe(scaleRunId(RUNS - 1 - (middle + 5)));

    // The end: the oldest run is the last row.
    await scrollTo(page, 1);
    expect(await idAt(page, RUNS - 1)).toBe(scaleRunId(0));
    const last = page.locator(`[data-testid="session-row"][data-index="${RUNS - 1}"]`);
    await last.getByTestId('run-select').check();
    await page.getByTestId('runs-compare').filter({ hasText: 'Compare 2 runs' }).waitFor();

    // Search narrows on the server: the runs of one sweep configuration.
    const matching = Array.from({ length: RUNS }, (_, i) => i).filter((i) =>
      scaleRunName(i).includes('sweep 42 '),
    );
    await page.getByTestId('runs-search').fill('sweep 42 ');
    await page.locator(`${scroller}[data-rows="${matching.length}"]`).waitFor({ timeout: 30_000 });
    const names = await page.getByTestId('run-name').allTextContents();
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toContain('sweep 42 ');
    expect(await idAt(page, 0)).toBe(scaleRunId(matching.at(-1) ?? -1));

    // The two runs picked before the search open the compare view.
    await page.getByTestId('runs-compare').click();
    await page.getByTestId('compare-page').waitFor();
    await page.getByTestId('compare-legend-item').nth(1).waitFor({ timeout: 30_000 });
    const legend = await page
      .getByTestId('compare-legend-item')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-session-id')));
    expect(legend).toEqual([scaleRunId(RUNS - 1), scaleRunId(0)]);
    expect(page.url()).toContain(`#/compare?runs=${scaleRunId(RUNS - 1)},${scaleRunId(0)}`);
  }, 120_000);
});
