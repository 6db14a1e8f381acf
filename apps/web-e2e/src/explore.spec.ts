import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  launchChromium,
  startServerProcess,
  WORKSPACE_ROOT,
  type ServerProcess,
} from '@trainwatch/testing';
import type { Browser, Page } from 'playwright-core';
import { startDemoRun, type DemoRun } from './support/demo-run';
import { explain } from './support/explain';
import { readmeScreenshot } from './support/readme-screenshot';
import { openRunFromList, RUN_ROW_HEIGHT_PX } from './support/runs-list';

const WEB_DIST = join(WORKSPACE_ROOT, 'dist/apps/web');
const RUN_NAME = 'e2e-per-class';
const OTHER_NAME = 'e2e-other';

/** Predictions the matrix on the page counts (its "N predictions" line). */
async function predictionsShown(page: Page): Promise<number> {
  const text = (await page.getByTestId('confusion-total').textContent()) ?? '';
  return Number(/(\d+) predictions/.exec(text)?.[1] ?? 0);
}

/** Clicks the wrong (off-diagonal) cell with most predictions; its stored images must load. */
async function openWrongPair(page: Page): Promise<void> {
  const tiles = page.locator('[data-testid="confusion-pair-frame"] [data-testid="image-tile"]');
  // On a live run the cell may count a batch the store has not committed yet, or the matrix
  // may move on to a new epoch: pick the busiest wrong cell again and ask again then.
  for (let attempt = 0; ; attempt++) {
    const cells = await page.$$eval('[data-testid="confusion-cell"]', (buttons) =>
      buttons.map((button) => ({
        truth: button.getAttribute('data-truth'),
        predicted: button.getAttribute('data-predicted'),
        count: Number(button.getAttribute('data-count')),
      })),
    );
    const wrong = cells
      .filter((cell) => cell.truth !== cell.predicted && cell.count > 0)
      .sort((a, b) => b.count - a.count)[0];
    const clicked =
      wrong !== undefined &&
      (await page
        .locator(
          `[data-testid="confusion-cell"][data-truth="${wrong.truth}"][data-predicted="${wrong.predicted}"]`,
        )
        .click({ timeout: 2000 })
        .then(() => true)
        .catch(() => false));
    const found =
      clicked &&
      (await Promise.race([
        tiles
          .first()
          .waitFor({ timeout: 15_000 })
          .then(() => true)
          .catch(() => false),
        // The loser of the race times out later: its rejection is expected.
        page
          .getByTestId('confusion-pair-none')
          .waitFor({ timeout: 15_000 })
          .then(() => false)
          .catch(() => false),
      ]));
    if (found) break;
    if (attempt === 10) throw new Error('no stored image of the busiest wrong pair');
  }
  // Every tile shown is of the pair: a wrong prediction.
  const verdicts = await tiles.evaluateAll((all) =>
    all.map((tile) => tile.getAttribute('data-correct')),
  );
  expect(verdicts.length).toBeGreaterThan(0);
  expect(new Set(verdicts)).toEqual(new Set(['wrong']));
  await page.waitForFunction(() =>
    [
      ...document.querySelectorAll<HTMLCanvasElement>(
        '[data-testid="confusion-pair-frame"] [data-testid="image-tile-canvas"]',
      ),
    ].every((canvas) => canvas.dataset.drawn !== undefined),
  );
}

/** Scrubs back `presses` stored frames with the arrow key: each shows its own frame, images loaded. */
async function scrubBack(page: Page, presses: number): Promise<void> {
  const panel = page.getByTestId('image-history-panel');
  await panel.scrollIntoViewIfNeeded();
  await page.waitForFunction(
    (wanted) =>
      Number(
        /(\d+) stored/.exec(
          document.querySelector('[data-testid="image-history-count"]')?.textContent ?? '',
        )?.[1] ?? 0,
      ) > wanted,
    presses,
    { timeout: 15_000 },
  );
  const slider = page.getByTestId('image-history-slider');
  await slider.focus();
  const seen: string[] = [];
  for (let press = 0; press < presses; press++) {
    await page.keyboard.press('ArrowLeft');
    // The frame of the step the slider names is the one shown.
    await page.waitForFunction(() => {
      const output = document.querySelector('[data-testid="image-history-step"]');
      return (
        output !== null &&
        output.getAttribute('data-shown-step') === output.textContent &&
        // Every tile painted this very frame (each canvas names the step it drew).
        [
          ...document.querySelectorAll<HTMLCanvasElement>(
            '[data-testid="image-history-panel"] [data-testid="image-tile-canvas"]',
          ),
        ].length > 0 &&
        [
          ...document.querySelectorAll<HTMLCanvasElement>(
            '[data-testid="image-history-panel"] [data-testid="image-tile-canvas"]',
          ),
        ].every((canvas) => canvas.dataset.drawn === output.getAttribute('data-shown-step'))
      );
    });
    seen.push((await page.getByTestId('image-history-step').textContent()) ?? '');
  }
  // Each press moved to another stored frame, backwards.
  expect(new Set(seen).size).toBe(presses);
  const numbers = seen.map(Number);
  expect([...numbers].sort((a, b) => b - a)).toEqual(numbers);
}

/**
 * Exploring kept runs in Chromium. The per-class panel: a confusion matrix that fills live from
 * the run's predictions, an epoch slider, a cell opening the stored images of
 * its (truth, predicted) pair; the image history scrubbed with the arrow keys
 * (each press shows its own stored frame); all of it again after the server
 * restarts, with the wrong-only filter. The compare view of two runs. Then the
 * runs page: search, rename, tag and delete (confirmed) in place.
 */
describe('exploring runs in Chromium', () => {
  let server: ServerProcess;
  let run: DemoRun;
  /** A second, shorter run to compare with. */
  let other: DemoRun;
  let browser: Browser;
  let page: Page;
  let sessionUrl = '';
  const pageErrors: string[] = [];
  const logs = () => `${server.output()}\n${run.output()}`;

  beforeAll(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html'))) {
      throw new Error(`${WEB_DIST}/index.html is missing: run \`npx nx build web\` first`);
    }
    browser = await launchChromium();
    server = await startServerProcess({ env: { WEB_DIST_DIR: WEB_DIST } });
    // 12 s of streaming: the first test must still see the matrix grow after Chromium has opened
    // the run (at 20 batches/s a slow start found the run already finished).
    run = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 10,
      epochs: 3,
      batches: 40,
      name: RUN_NAME,
    });
    other = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 30,
      epochs: 2,
      batches: 20,
      name: OTHER_NAME,
    });
    page = await browser.newPage({
      viewport: { width: 1400, height: 1000 },
      acceptDownloads: true,
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(server.httpUrl);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await run?.kill();
    await other?.kill();
    await server?.stop();
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it('fills the confusion matrix live and opens the images of a cell', async () => {
    const row = page.locator('[data-testid="session-row"]', { hasText: RUN_NAME });
    await explain('session row', logs, () => row.waitFor({ timeout: 30_000 }));
    // Both runs start together: the later one is listed above the other (newest first) and
    // would move this row under the pointer if it registered during the click.
    await explain('other run row', logs, () =>
      page
        .locator('[data-testid="session-row"]', { hasText: OTHER_NAME })
        .waitFor({ timeout: 30_000 }),
    );
    const sessionId = (await row.getAttribute('data-session-id')) ?? '';
    await openRunFromList(page, sessionId);
    sessionUrl = page.url();
    const panel = page.getByTestId('confusion-panel');
    await panel.scrollIntoViewIfNeeded();
    await explain('confusion matrix', logs, () =>
      page.getByTestId('confusion-matrix').waitFor({ timeout: 20_000 }),
    );
    // Live: the count grows while the run streams, or the panel moves on to the next epoch (it
    // follows the newest; read at an epoch's last batch, the count cannot grow past it there).
    const first = await page.evaluate(() => ({
      predictions: Number(
        /(\d+) predictions/.exec(
          document.querySelector('[data-testid="confusion-total"]')?.textContent ?? '',
        )?.[1] ?? 0,
      ),
      epoch: document.querySelector('[data-testid="confusion-epoch"]')?.textContent,
    }));
    await explain('matrix grows live', logs, () =>
      page.waitForFunction(
        (before) =>
          Number(
            /(\d+) predictions/.exec(
              document.querySelector('[data-testid="confusion-total"]')?.textContent ?? '',
            )?.[1] ?? 0,
          ) > before.predictions ||
          document.querySelector('[data-testid="confusion-epoch"]')?.textContent !== before.epoch,
        first,
        { timeout: 15_000 },
      ),
    );
    expect(await page.getByTestId('class-accuracy-row').count()).toBeGreaterThan(0);
    // Pin the first epoch (the panel otherwise follows the newest, whose cells start at 0).
    await page.getByTestId('confusion-epoch-slider').focus();
    await page.keyboard.press('Home');
    await page.getByTestId('confusion-epoch').filter({ hasText: /^1$/ }).waitFor();
    await openWrongPair(page);
    // Image history on the live run.
    await scrubBack(page, 3);
  });

  it('moves between epochs and keeps every view after the run ends and the server restarts', async () => {
    await explain('run completes', logs, () => run.exited);
    await explain('other run completes', logs, () => other.exited);
    await server.stop();
    await server.start();
    // A fresh page load (only the hash would not reload the app).
    await page.goto(sessionUrl);
    await page.reload();
    await page.getByTestId('confusion-panel').scrollIntoViewIfNeeded();
    await explain('matrix after restart', logs, () =>
      page.getByTestId('confusion-matrix').waitFor({ timeout: 20_000 }),
    );
    const slider = page.getByTestId('confusion-epoch-slider');
    // Every epoch of the run, from the store.
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="confusion-epoch-slider"]')?.getAttribute('max') ===
        '2',
    );
    // The third and last epoch (index 2), counted from 1 as everywhere on the page.
    expect(await page.getByTestId('confusion-epoch').textContent()).toBe('3');
    const lastEpoch = await predictionsShown(page);
    await slider.focus();
    await page.keyboard.press('Home');
    await page.getByTestId('confusion-epoch').filter({ hasText: /^1$/ }).waitFor();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="confusion-total"]') !== null,
    );
    expect(await predictionsShown(page)).toBeGreaterThan(0);
    expect(lastEpoch).toBeGreaterThan(0);
    await openWrongPair(page);
    await readmeScreenshot('confusion-matrix', page.getByTestId('confusion-panel'));
    // Image history from the store, then only frames with a wrong prediction.
    await scrubBack(page, 5);
    await readmeScreenshot('image-scrubber', page.getByTestId('image-history-panel'));
    const all = await page.getByTestId('image-history-count').textContent();
    await page.getByTestId('image-history-wrong-only').check();
    await page.waitForFunction(
      (before) =>
        document.querySelector('[data-testid="image-history-count"]')?.textContent !== before,
      all,
    );
    await scrubBack(page, 2);
  }, 60_000);

  it('compares the two runs: every shared series overlaid, legend toggles', async () => {
    await page.goto(server.httpUrl);
    for (const name of [RUN_NAME, OTHER_NAME]) {
      const row = page.locator('[data-testid="session-row"]', { hasText: name });
      await row.getByTestId('run-select').check();
    }
    await page.getByTestId('runs-compare').click();
    await page.getByTestId('compare-page').waitFor();
    const loss = page.locator('[data-testid="compare-chart"][data-series="loss"]');
    await explain('loss overlaid', logs, () => loss.waitFor({ timeout: 15_000 }));
    expect(await loss.getAttribute('data-runs')).toBe('2');
    expect(Number(await loss.getAttribute('data-points'))).toBeGreaterThan(10);
    expect(await page.getByTestId('compare-chart').count()).toBeGreaterThan(1);
    await loss.locator('canvas').first().waitFor();
    await readmeScreenshot('compare-view', page);
    await page.getByTestId('compare-legend-item').first().uncheck();
    await page
      .locator('[data-testid="compare-chart"][data-series="loss"][data-runs="1"]')
      .waitFor();
    // CSV of the loss of both runs at full resolution: every stored point.
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      loss.getByTestId('compare-csv').click(),
    ]);
    expect(csv.suggestedFilename()).toBe('loss.csv');
    const lines = readFileSync((await csv.path()) as string, 'utf8')
      .trim()
      .split('\n');
    expect(lines[0]).toBe('run,step,value,wall_time_ms');
    // 3 × 40 batches of one run, 2 × 20 of the other: one loss point each.
    expect(lines.length - 1).toBe(3 * 40 + 2 * 20);
    const [png] = await Promise.all([
      page.waitForEvent('download'),
      loss.getByTestId('compare-png').click(),
    ]);
    expect(png.suggestedFilename()).toBe('loss.png');
    // The URL holds the runs and the hidden one: a reload shows the same view.
    await page.reload();
    await page
      .locator('[data-testid="compare-chart"][data-series="loss"][data-runs="1"]')
      .waitFor();
  });

  it('finds, renames, tags and deletes the run on the runs page', async () => {
    await page.goto(server.httpUrl);
    const rows = page.getByTestId('session-row');
    await rows.first().waitFor();
    await page.getByTestId('runs-search').fill('no-such-run');
    await page.getByTestId('runs-none-match').waitFor();
    await page.getByTestId('runs-search').fill(RUN_NAME);
    const row = page.locator('[data-testid="session-row"]', { hasText: RUN_NAME });
    await row.waitFor();
    expect(await rows.count()).toBe(1);

    await row.getByTestId('run-actions-open').click();
    await row.getByTestId('run-rename').click();
    await row.getByTestId('run-edit-input').fill('kept baseline');
    await row.getByTestId('run-edit-save').click();
    await row.getByTestId('run-name').filter({ hasText: 'kept baseline' }).waitFor();
    await row.getByTestId('run-actions-open').click();
    await row.getByTestId('run-tags').click();
    await row.getByTestId('run-edit-input').fill('baseline, e2e');
    await row.getByTestId('run-edit-save').click();
    await row.getByTestId('run-tag-list').filter({ hasText: 'e2e' }).waitFor();
    const note = Array(3)
      .fill('compare with the run from last week before changing the schedule again')
      .join('; ');
    await row.getByTestId('run-actions-open').click();
    await row.getByTestId('run-note').click();
    await row.getByTestId('run-edit-input').fill(note);
    await row.getByTestId('run-edit-save').click();
    // The note is one line cut with an ellipsis; its whole text is the line's title.
    await row.locator(`[data-testid="run-note-text"][title="${note}"]`).waitFor();
    // Name, tags and a long note: the row keeps the list's one row height (runs-list.css).
    expect(await row.evaluate((element) => (element as HTMLElement).offsetHeight)).toBe(
      RUN_ROW_HEIGHT_PX,
    );
    // The server searches tags and names too.
    await page.getByTestId('runs-search').fill('kept base');
    await row.waitFor();

    await row.getByTestId('run-actions-open').click();
    await row.getByTestId('run-delete').click();
    await page.getByTestId('confirm-yes').click();
    await page.getByTestId('runs-none-match').waitFor();
  });
});
