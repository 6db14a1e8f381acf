import { existsSync } from 'node:fs';
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
import { openRunFromList } from './support/runs-list';

const WEB_DIST = join(WORKSPACE_ROOT, 'dist/apps/web');
/** The series the simulated run logs besides the loss, and at least one system series. */
const NAMED_SERIES = ['loss', 'lr', 'grad_norm', 'train/acc', 'val/loss', 'val/acc'];
const SYSTEM_PREFIX = 'system/';

const panelSelector = (name: string) => `[data-testid="series-panel"][data-series="${name}"]`;

/** Names of the series panels on the page, in page order. */
function seriesNames(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="series-panel"]', (panels) =>
    panels.map((panel) => panel.getAttribute('data-series') ?? ''),
  );
}

/** Scrolls series `name` into view and waits for its chart to hold points. */
async function pointsOf(page: Page, name: string): Promise<number> {
  const panel = page.locator(panelSelector(name));
  await panel.scrollIntoViewIfNeeded();
  await panel.locator('[data-testid="series-chart"] canvas').first().waitFor();
  await page.waitForFunction(
    (selector) => Number(document.querySelector(selector)?.getAttribute('data-points')) > 0,
    panelSelector(name),
  );
  return Number(await panel.getAttribute('data-points'));
}

/**
 * Every named value of a run gets its own live chart, grouped by prefix, and
 * a tab that joins late draws the same series from the snapshot.
 */
describe('a chart per series in Chromium', () => {
  let server: ServerProcess;
  let run: DemoRun;
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
    // 3 short epochs: a validation pass every 1.5 s, done in about 5 s.
    run = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 20,
      epochs: 3,
      batches: 30,
      name: 'e2e-series',
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, colorScheme: 'dark' });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(server.httpUrl);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await run?.kill();
    await server?.stop();
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it('shows a live chart for loss, lr, grad_norm, train/acc, val/loss, val/acc and system series', async () => {
    const row = page.locator('[data-testid="session-row"]', { hasText: 'e2e-series' });
    await explain('session row', logs, () => row.waitFor({ timeout: 30_000 }));
    const sessionId = (await row.getAttribute('data-session-id')) ?? '';
    await openRunFromList(page, sessionId);
    sessionUrl = page.url();

    await explain('a panel per series', logs, async () => {
      for (const name of NAMED_SERIES) await page.locator(panelSelector(name)).waitFor();
      await page
        .locator(`[data-testid="series-panel"][data-series^="${SYSTEM_PREFIX}"]`)
        .first()
        .waitFor();
    });
    const names = await seriesNames(page);
    expect(names[0]).toBe('loss');
    const group = (name: string) =>
      page
        .locator(`[data-testid="series-group"]:has(${panelSelector(name)})`)
        .getAttribute('data-group');
    expect(await group('lr')).toBe('main');
    expect(await group('train/acc')).toBe('train');
    expect(await group('val/loss')).toBe('val');
    expect(await page.locator(panelSelector('val/acc')).getAttribute('data-kind')).toBe('epoch');

    for (const name of NAMED_SERIES) {
      expect(await explain(`points of ${name}`, logs, () => pointsOf(page, name))).toBeGreaterThan(
        0,
      );
    }
    // A panel far off screen holds no chart.
    await page.locator('[data-testid="session-title"]').scrollIntoViewIfNeeded();
    const offScreen = await page.$$eval(
      '[data-testid="series-panel"][data-visible="false"]',
      (panels) => panels.every((panel) => panel.querySelector('canvas') === null),
    );
    expect(offScreen).toBe(true);
  });

  it('filters panels by name', async () => {
    const box = page.getByLabel('Filter series');
    await box.fill('val/*');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="series-panel"]').length === 2,
    );
    expect((await seriesNames(page)).sort()).toEqual(['val/acc', 'val/loss']);
    await box.fill('');
  });

  it('a late-joining tab shows the same series and points once the run is over', async () => {
    const late = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    late.on('pageerror', (error) => pageErrors.push(error.message));
    await late.goto(sessionUrl);
    for (const tab of [page, late]) {
      await tab.waitForFunction(
        () =>
          document.querySelector('.session-header [data-testid="status-badge"]')?.textContent ===
          'COMPLETED',
        undefined,
        { timeout: 30_000 },
      );
    }
    const names = await seriesNames(page);
    expect(await seriesNames(late)).toEqual(names);
    // The server's per-class accuracy of each epoch: a series per class, charted by epoch in a
    // group of its own, the same live and from the snapshot.
    const classAccuracy = names.filter((name) => name.startsWith('class_acc/'));
    expect(classAccuracy).toContain('class_acc/airplane');
    const airplane = late.locator(panelSelector('class_acc/airplane'));
    expect(await airplane.getAttribute('data-kind')).toBe('epoch');
    expect(
      await late
        .locator(`[data-testid="series-group"]:has(${panelSelector('class_acc/airplane')})`)
        .getAttribute('data-group'),
    ).toBe('class-accuracy');
    for (const name of names) {
      expect({ name, points: await pointsOf(late, name) }).toEqual({
        name,
        points: await pointsOf(page, name),
      });
    }
    await late.close();
  });
});
