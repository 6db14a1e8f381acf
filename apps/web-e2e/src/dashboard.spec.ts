import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  launchChromium,
  startServerProcess,
  waitFor,
  WORKSPACE_ROOT,
  type ServerProcess,
} from '@trainwatch/testing';
import { CIFAR10_CLASS_NAMES } from '@trainwatch/trainer-sdk';
import type { Browser, Page } from 'playwright-core';
import { startDemoRun, type DemoRun } from './support/demo-run';
import { explain } from './support/explain';
import { openRunFromList } from './support/runs-list';

const WEB_DIST = join(WORKSPACE_ROOT, 'dist/apps/web');
const SCREENSHOT = join(WORKSPACE_ROOT, 'docs/screenshot.png');
const CIFAR10: readonly string[] = CIFAR10_CLASS_NAMES;
/** Server keepalive period on idle streams: short, so "nothing arrives" is proven quickly. */
const HEARTBEAT_MS = 500;

/**
 * The whole product in one scenario: the real server (serving the built SPA
 * and gRPC-Web), a simulated run streaming into it over gRPC, and Chromium
 * watching and steering it. Steps run in order and share one page.
 */
describe('dashboard in Chromium against the real server and a demo run', () => {
  let server: ServerProcess;
  let run: DemoRun;
  let browser: Browser;
  let page: Page;
  let sessionId = '';
  const pageErrors: string[] = [];

  const attribute = async (testId: string, name: string): Promise<number> =>
    Number(await page.getByTestId(testId).first().getAttribute(name));
  const lossPoints = (): Promise<number> => attribute('loss-chart', 'data-points');

  /** Waits, in the page, until the loss chart holds more than `count` points. */
  const waitForPointsAbove = (count: number, timeout = 20_000) =>
    page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) >
        n,
      count,
      { timeout },
    );
  const waitForStatus = (status: string, timeout = 20_000) =>
    page.waitForFunction(
      (s) =>
        document.querySelector('.session-header [data-testid="status-badge"]')?.textContent === s,
      status,
      { timeout },
    );

  beforeAll(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html'))) {
      throw new Error(`${WEB_DIST}/index.html is missing: run \`npx nx build web\` first`);
    }
    browser = await launchChromium();
    server = await startServerProcess({
      env: { WEB_DIST_DIR: WEB_DIST, HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) },
    });
    // 4 epochs × 400 batches at 25 batches/s: long enough to outlast every
    // step below; Stop ends it early.
    run = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 25,
      epochs: 4,
      batches: 400,
      name: 'e2e-demo',
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

  it('lists the running session', async () => {
    const row = page.locator('[data-testid="session-row"]', { hasText: 'e2e-demo' });
    await explain(
      'session row',
      () => `${server.output()}\n${run.output()}`,
      () => row.waitFor({ timeout: 30_000 }),
    );
    sessionId = (await row.getAttribute('data-session-id')) ?? '';
    expect(sessionId).toMatch(/^e2e-demo-/);
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="session-row"] [data-testid="status-badge"]')
          ?.textContent === 'RUNNING',
    );
    await openRunFromList(page, sessionId);
  });

  it('draws the loss chart and keeps adding points', async () => {
    await waitForPointsAbove(0);
    const first = await lossPoints();
    await waitForPointsAbove(first + 10);
    expect(await page.locator('[data-testid="loss-chart"] canvas').count()).toBeGreaterThan(0);
  });

  it('shows 16 decoded sample images with class-name labels', async () => {
    await page.waitForFunction(
      () => {
        // The live image grid (the image history panel shows the newest frame in its own grid).
        const grid = [...document.querySelectorAll('[data-testid="image-grid"]')].find(
          (element) => element.closest('[data-testid="image-history-panel"]') === null,
        );
        const images = [
          ...(grid?.querySelectorAll<HTMLCanvasElement>('[data-testid="image-tile-canvas"]') ?? []),
        ];
        return (
          // Each tile's canvas names the frame it painted (decoded off the main thread).
          images.length === 16 && images.every((image) => image.dataset.drawn !== undefined)
        );
      },
      undefined,
      { timeout: 20_000 },
    );
    const labels = await page
      .locator('[data-testid="image-grid"]:not([data-testid="image-history-panel"] *)')
      .getByTestId('image-label')
      .allTextContents();
    expect(labels).toHaveLength(16);
    for (const label of labels) expect(CIFAR10).toContain(label);
    await waitForPointsAbove(30);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('Pause makes the run report PAUSED and batches stop arriving', async () => {
    await page.getByTestId('command-pause').click();
    await waitForStatus('PAUSED');
    await page.getByTestId('command-outcome').filter({ hasText: 'Pause done' }).waitFor();
    // The status event follows every earlier batch on the stream, so the
    // count is final now. Keepalives prove the stream stays open while
    // nothing else arrives.
    const pointsAtPause = await lossPoints();
    const eventAtPause = await attribute('connection-indicator', 'data-last-event-at');
    await page.waitForFunction(
      (since) =>
        Number(
          document
            .querySelector('[data-testid="connection-indicator"]')
            ?.getAttribute('data-last-event-at'),
        ) >= since,
      eventAtPause + 4 * HEARTBEAT_MS,
      { timeout: 10_000 },
    );
    expect(await lossPoints()).toBe(pointsAtPause);
    await page
      .getByTestId('audit-entry')
      .filter({ hasText: 'Pause' })
      .filter({ hasText: 'succeeded' })
      .waitFor();
  });

  it('Resume continues the run', async () => {
    const before = await lossPoints();
    await page.getByTestId('command-resume').click();
    await waitForStatus('RUNNING');
    await waitForPointsAbove(before + 10);
  });

  it('reconnects by itself after a server restart and continues the curve without gaps or duplicates', async () => {
    await server.stop();
    await page.getByTestId('reconnecting-banner').waitFor({ timeout: 10_000 });
    const beforeRestart = await lossPoints();
    await server.start();
    await page.getByTestId('reconnecting-banner').waitFor({ state: 'detached', timeout: 20_000 });
    await waitForPointsAbove(beforeRestart + 20);
    // Read in one go: the chart keeps growing between separate reads.
    const { points, firstStep, lastStep } = await page
      .getByTestId('loss-chart')
      .evaluate((chart) => ({
        points: Number(chart.getAttribute('data-points')),
        firstStep: Number(chart.getAttribute('data-first-step')),
        lastStep: Number(chart.getAttribute('data-last-step')),
      }));
    // Steps are strictly increasing by construction; covering first..last
    // with exactly that many points means none is missing.
    expect({ points, span: lastStep - firstStep + 1 }).toEqual({ points, span: points });
  });

  it('Stop asks to confirm, then ends the run', async () => {
    let pageState = '';
    await page.getByTestId('command-stop').click();
    await page.getByTestId('confirm-yes').click();
    await explain(
      'run reports COMPLETED',
      () => `${server.output()}\n${run.output()}\n--- page ---\n${pageState}`,
      async () => {
        try {
          await waitForStatus('COMPLETED', 30_000);
        } catch (error) {
          pageState = await page.locator('main').innerText();
          throw error;
        }
      },
    );
    await page.getByTestId('command-outcome').filter({ hasText: 'Stop done' }).waitFor();
    const code = await waitFor(
      () => (run.child.exitCode === null ? undefined : run.child.exitCode),
      {
        timeoutMs: 20_000,
        what: `simulator exit\n${run.output()}`,
      },
    );
    expect(code).toBe(0);
  });
});
