import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import { DashboardService } from '@trainwatch/proto';
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
/** A rate the simulator's schedule does not give early in a run (it warms up from 0.01 to 0.1). */
const NEW_LR = 0.0123;

/**
 * A custom command from the browser: the simulator advertises `set_lr` and
 * `save_checkpoint`, the session page draws a form for each, and `set_lr`
 * sent from it changes the run's learning rate from its next step on.
 */
describe('custom commands in Chromium against the real server and a demo run', () => {
  let server: ServerProcess;
  let run: DemoRun;
  let browser: Browser;
  let page: Page;
  let sessionId = '';
  const pageErrors: string[] = [];
  const logs = () => `${server.output()}\n${run.output()}`;
  const dashboard = () =>
    createClient(
      DashboardService,
      createGrpcWebTransport({ baseUrl: server.httpUrl, httpVersion: '1.1' }),
    );

  beforeAll(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html'))) {
      throw new Error(`${WEB_DIST}/index.html is missing: run \`npx nx build web\` first`);
    }
    browser = await launchChromium();
    server = await startServerProcess({ env: { WEB_DIST_DIR: WEB_DIST } });
    // Long enough to outlast every step below; killed at the end.
    run = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 20,
      epochs: 4,
      batches: 400,
      name: 'e2e-custom',
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

  it('draws a form per advertised command on the session page', async () => {
    const row = page.locator('[data-testid="session-row"]', { hasText: 'e2e-custom' });
    await explain('session row', logs, () => row.waitFor({ timeout: 30_000 }));
    sessionId = (await row.getAttribute('data-session-id')) ?? '';
    await openRunFromList(page, sessionId);
    await explain('custom command forms', logs, () =>
      page.getByTestId('custom-command-save_checkpoint').waitFor({ timeout: 20_000 }),
    );
    const lr = page.getByTestId('custom-set_lr-lr');
    expect(await lr.getAttribute('type')).toBe('number');
    expect(await lr.getAttribute('aria-required')).toBe('true');
    expect(await page.getByTestId('custom-command-set_lr').textContent()).toContain('lr*');
    // The lr series is live before the command.
    await page.waitForFunction(
      () =>
        document.querySelector(
          '[data-testid="series-panel"][data-series="lr"] [data-testid="series-latest"]',
        )?.textContent !== '—',
      undefined,
      { timeout: 20_000 },
    );
  });

  it('set_lr from the form changes the lr series at the next step', async () => {
    await page.getByTestId('custom-set_lr-lr').fill(String(NEW_LR));
    const sentAt = Date.now();
    await page.getByTestId('custom-send-set_lr').click();
    const outcome = page.getByTestId('command-outcome').filter({ hasText: 'set_lr done' });
    await explain('set_lr outcome', logs, () => outcome.waitFor({ timeout: 10_000 }));
    const text = (await outcome.textContent()) ?? '';
    expect(text).toMatch(new RegExp(`^set_lr done: lr is ${NEW_LR} from step \\d+$`));
    const fromStep = Number(/from step (\d+)/.exec(text)?.[1]);

    // The chart's latest value shows the new rate as soon as that step arrives.
    const latest = page.locator(
      '[data-testid="series-panel"][data-series="lr"] [data-testid="series-latest"]',
    );
    await latest.scrollIntoViewIfNeeded();
    await page.waitForFunction(
      (value) =>
        document.querySelector(
          '[data-testid="series-panel"][data-series="lr"] [data-testid="series-latest"]',
        )?.textContent === value,
      String(NEW_LR),
      { timeout: 5_000 },
    );
    const shownAfterMs = Date.now() - sentAt;

    // At full resolution: the step the trainer named is the first with the new rate.
    const { series } = await dashboard().querySeries({
      sessionId,
      names: ['lr'],
      fromStep: BigInt(Math.max(0, fromStep - 3)),
      toStep: BigInt(fromStep + 3),
    });
    const window = series[0];
    const byStep = new Map(
      (window?.lastSteps ?? []).map((step, index) => [Number(step), window?.lasts[index]]),
    );
    expect(byStep.get(fromStep)).toBe(NEW_LR);
    if (fromStep > 0) expect(byStep.get(fromStep - 1)).not.toBe(NEW_LR);
    // Sent, applied, answered and drawn well within a few batches at 20 per second.
    expect(shownAfterMs).toBeLessThan(5_000);

    // The command log names the command and its argument.
    await page
      .getByTestId('audit-command')
      .filter({ hasText: `set_lr(lr=${NEW_LR})` })
      .waitFor({ timeout: 5_000 });
  });

  it('save_checkpoint answers the path the simulator wrote', async () => {
    await page.getByTestId('custom-send-save_checkpoint').click();
    const outcome = page.getByTestId('command-outcome').filter({ hasText: 'save_checkpoint done' });
    await outcome.waitFor({ timeout: 10_000 });
    const path = ((await outcome.textContent()) ?? '').replace('save_checkpoint done: ', '');
    expect(path).toMatch(/checkpoint-step-\d+\.json$/);
    expect(existsSync(path)).toBe(true);
  });
});
