import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  launchChromium,
  startPostgres,
  startServerProcess,
  WORKSPACE_ROOT,
  type ServerProcess,
  type TestPostgres,
  waitFor,
} from '@trainwatch/testing';
import type { Browser, Page } from 'playwright-core';
import { startDemoRun, type DemoRun } from './support/demo-run';

const WEB_DIST = join(WORKSPACE_ROOT, 'dist/apps/web');

/**
 * The store banner end to end: the built server on a throwaway PostgreSQL,
 * a simulated run streaming into it, the runs page in Chromium. While
 * PostgreSQL is stopped the page says that runs are not being saved, and
 * why; once it is back the banner goes by itself.
 */
describe('store status in Chromium against the real server and PostgreSQL', () => {
  let postgres: TestPostgres;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let run: DemoRun | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html'))) {
      throw new Error(`${WEB_DIST}/index.html is missing: run \`npx nx build web\` first`);
    }
    postgres = await startPostgres();
    server = await startServerProcess({
      env: {
        WEB_DIST_DIR: WEB_DIST,
        STORE_ENGINE: 'postgres',
        DATABASE_URL: await postgres.createDatabase(),
      },
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await run?.kill();
    await server?.stop();
    await postgres?.destroy();
  });

  it('PostgreSQL stopped: every page says runs are not being saved and why; back: the banner goes', async () => {
    if (!postgres.ownServer) return; // an outside server cannot be stopped here
    run = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 20,
      epochs: 50,
      batches: 1000,
      name: 'e2e-store-status',
    });
    const logs = () =>
      `server:\n${server.output().slice(-3000)}\nrun:\n${run?.output().slice(-2000) ?? ''}`;
    const healthz = async () => {
      const response = await fetch(`${server.httpUrl}/healthz`).catch(() => undefined);
      return response === undefined ? 'unreachable' : `${response.status} ${await response.text()}`;
    };
    await page.goto(server.httpUrl);
    await page
      .getByTestId('session-row')
      .first()
      .waitFor({ timeout: 30_000 })
      .catch((error: Error) => {
        throw new Error(`no run listed: ${error.message}\n${logs()}`);
      });
    const banner = page.getByTestId('store-banner');
    expect(await banner.count()).toBe(0);

    await postgres.stop();
    // The next commit fails, /healthz turns 503 with the reason, the page asks it every 5 s.
    await waitFor(async () => (await banner.count()) > 0, {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: `the store banner while PostgreSQL is stopped`,
    }).catch(async (error: Error) => {
      throw new Error(`${error.message}\n/healthz: ${await healthz()}\n${logs()}`);
    });
    const text = (await banner.textContent()) ?? '';
    expect(text).toMatch(/^Runs are not being saved: .+\. Trainers keep what is unsaved/);
    expect(await banner.getAttribute('role')).toBe('alert');

    await postgres.start();
    await banner.waitFor({ state: 'detached', timeout: 30_000 });
    // The server and the run went through it: both still up, the list still answers.
    await page.getByTestId('session-row').first().waitFor();
    expect(server.child.exitCode).toBeNull();
    expect(run.child.exitCode).toBeNull();
    expect(pageErrors).toEqual([]);
  });
});
