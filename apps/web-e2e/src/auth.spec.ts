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
const SETUP_TOKEN = 'e2e-setup-token-0123456789';
const PASSWORD = 'a long enough password';
/** Role values of the admin page's selects (the contract's Role enum). */
const VIEWER = '1';
const OPERATOR = '2';

/**
 * Teams in Chromium against the real server with AUTH=required: the first
 * admin is set up in the page with the setup token, creates a viewer, an
 * operator and an API key there; a simulated trainer streams with that key;
 * the viewer watches but cannot stop; the operator stops and the audit
 * names them. Steps run in order and share one page.
 */
describe('sign-in, roles and the admin page in Chromium (AUTH=required)', () => {
  let server: ServerProcess;
  let run: DemoRun | undefined;
  let browser: Browser;
  let page: Page;
  let sessionId = '';
  const pageErrors: string[] = [];

  const signIn = async (userName: string) => {
    await page.getByTestId('sign-in-page').waitFor();
    await page.getByTestId('sign-in-user').fill(userName);
    await page.getByTestId('sign-in-password').fill(PASSWORD);
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('current-user').filter({ hasText: userName }).waitFor();
  };
  const signOut = async () => {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-page').waitFor();
  };
  const lossPoints = async () =>
    Number(await page.getByTestId('loss-chart').first().getAttribute('data-points'));

  beforeAll(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html'))) {
      throw new Error(`${WEB_DIST}/index.html is missing: run \`npx nx build web\` first`);
    }
    browser = await launchChromium();
    server = await startServerProcess({
      env: {
        WEB_DIST_DIR: WEB_DIST,
        AUTH: 'required',
        ADMIN_TOKEN: SETUP_TOKEN,
        HEARTBEAT_INTERVAL_MS: '500',
      },
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
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

  it('offers the first-admin set-up, which signs the admin in', async () => {
    await page.getByTestId('setup-page').waitFor();
    await page.getByTestId('setup-token').fill(SETUP_TOKEN);
    await page.getByTestId('sign-in-user').fill('root');
    await page.getByTestId('sign-in-password').fill(PASSWORD);
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('current-user').filter({ hasText: 'root' }).waitFor();
    expect(await page.getByTestId('current-role').textContent()).toBe('admin');
  });

  it('the admin page creates a viewer, an operator and an API key shown once', async () => {
    await page.getByTestId('admin-link').click();
    await page.getByTestId('admin-page').waitFor();
    for (const [name, role] of [
      ['vera', VIEWER],
      ['otto', OPERATOR],
      ['gpu-box', VIEWER],
    ] as const) {
      await page.getByTestId('admin-new-user').fill(name);
      await page.getByTestId('admin-new-role').selectOption(role);
      await page.getByTestId('admin-new-password').fill(PASSWORD);
      await page.getByTestId('admin-create-user').click();
      await page.locator(`[data-testid="admin-user-row"][data-user="${name}"]`).waitFor();
    }
    expect(await page.getByTestId('user-role-otto').inputValue()).toBe(OPERATOR);
    await page.getByTestId('admin-key-user').selectOption('gpu-box');
    await page.getByTestId('admin-key-name').fill('e2e-trainer');
    await page.getByTestId('admin-create-key').click();
    const secret = (await page.getByTestId('admin-new-key-secret').textContent()) ?? '';
    expect(secret).toMatch(/^twk_/);
    await page.getByTestId('admin-key-row').filter({ hasText: 'e2e-trainer' }).waitFor();
    expect(await page.getByTestId('admin-key-state').first().textContent()).toBe('active');
    // The key is what the simulated trainer streams with.
    run = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 20,
      epochs: 4,
      batches: 400,
      name: 'e2e-auth',
      env: { TRAINWATCH_API_KEY: secret },
    });
    await signOut();
  });

  it('a viewer watches live, and Stop is disabled saying why', async () => {
    await signIn('vera');
    expect(await page.getByTestId('current-role').textContent()).toBe('viewer');
    expect(await page.getByTestId('admin-link').count()).toBe(0);
    const row = page.locator('[data-testid="session-row"]', { hasText: 'e2e-auth' });
    await explain(
      'session row',
      () => `${server.output()}\n${run?.output() ?? ''}`,
      () => row.waitFor({ timeout: 30_000 }),
    );
    sessionId = (await row.getAttribute('data-session-id')) ?? '';
    await openRunFromList(page, sessionId);
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) >
        5,
      undefined,
      { timeout: 20_000 },
    );
    const first = await lossPoints();
    await page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) >
        n,
      first + 5,
      { timeout: 20_000 },
    );
    const why = 'viewers cannot send commands; ask an admin for the operator role';
    const stop = page.getByTestId('command-stop');
    expect(await stop.isDisabled()).toBe(true);
    expect(await stop.getAttribute('title')).toBe(why);
    expect(await page.getByTestId('command-permission').textContent()).toBe(why);
    await signOut();
  });

  it('an operator stops the run and the audit names them', async () => {
    await signIn('otto');
    await page.goto(`${server.httpUrl}/#/sessions/${encodeURIComponent(sessionId)}`);
    await page.getByTestId('session-title').filter({ hasText: sessionId }).waitFor();
    const stop = page.getByTestId('command-stop');
    await page.waitForFunction(
      () =>
        !(document.querySelector('[data-testid="command-stop"]') as HTMLButtonElement | null)
          ?.disabled,
      undefined,
      { timeout: 20_000 },
    );
    expect(await page.getByTestId('command-permission').count()).toBe(0);
    await stop.click();
    await page.getByTestId('confirm-yes').click();
    await explain(
      'Stop done',
      () => `${server.output()}\n${run?.output() ?? ''}`,
      () =>
        page
          .getByTestId('command-outcome')
          .filter({ hasText: 'Stop done' })
          .waitFor({ timeout: 30_000 }),
    );
    await page
      .getByTestId('audit-entry')
      .filter({ hasText: 'Stop' })
      .filter({ hasText: 'by otto' })
      .waitFor();
  });

  it('sign-out returns to the sign-in page, and the runs are not shown', async () => {
    await signOut();
    await page.goto(`${server.httpUrl}/#/`);
    await page.getByTestId('sign-in-page').waitFor();
    expect(await page.getByTestId('sessions-table').count()).toBe(0);
  });
});
