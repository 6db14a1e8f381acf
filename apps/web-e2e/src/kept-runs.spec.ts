import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import { DashboardService, type SessionSummary } from '@trainwatch/proto';
import { freePort, launchChromium, waitFor, WORKSPACE_ROOT } from '@trainwatch/testing';
import type { Browser, Page } from 'playwright-core';

const RUN_NAME = 'e2e-kept';
const panelSelector = (name: string) => `[data-testid="series-panel"][data-series="${name}"]`;

/** `npm run demo` / `npm start` as a user runs them, in their own process group (for Ctrl-C). */
interface Stack {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Ctrl-C in the terminal: SIGINT to the whole process group. */
  interrupt(): Promise<number | null>;
}

function npm(args: string[], env: Record<string, string>): Stack {
  const child = spawn('npm', args, {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    output: () => log,
    exited,
    interrupt: () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
      return exited;
    },
  };
}

/**
 * Runs are kept: `npm run demo`, Ctrl-C while the run streams, `npm start`
 * on the same data: the run is in the list, with every curve (as many
 * points as the store holds) and its images.
 */
describe('a run kept across npm run demo, Ctrl-C, npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'trainwatch-e2e-data-'));
  let env: Record<string, string>;
  let httpUrl = '';
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  /**
   * Errors the page logged and requests `npm start` answered with an error
   * (Chromium logs the tab icon's 404 to the console; the response events skip it).
   */
  const failedRequests: string[] = [];

  const dashboard = () =>
    createClient(
      DashboardService,
      createGrpcWebTransport({ baseUrl: httpUrl, httpVersion: '1.1' }),
    );
  const findRun = async (): Promise<SessionSummary | undefined> =>
    (await dashboard().listSessions({ text: RUN_NAME })).sessions[0];

  beforeAll(async () => {
    if (!existsSync(join(WORKSPACE_ROOT, 'dist/apps/web/index.html'))) {
      throw new Error('dist/apps/web/index.html is missing: run `npx nx build web` first');
    }
    const httpPort = await freePort();
    env = { DATA_DIR: dataDir, HTTP_PORT: String(httpPort), GRPC_PORT: String(await freePort()) };
    httpUrl = `http://127.0.0.1:${httpPort}`;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.interrupt();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('npm run demo streams a run into the store; Ctrl-C ends it all', async () => {
    stack = npm(
      [
        'run',
        'demo',
        '--',
        '--fps',
        '40',
        '--images',
        '16',
        '--epochs',
        '4',
        '--batches',
        '400',
        '--name',
        RUN_NAME,
        '--seed',
        '7',
      ],
      env,
    );
    const demo = stack;
    // A few hundred batches with their frames and an epoch's validation, then Ctrl-C mid-run.
    await waitFor(
      async () => {
        const run = await findRun().catch(() => undefined);
        return run !== undefined && run.batchesReceived >= 150n && run.storedFrames > 0;
      },
      { timeoutMs: 150_000, intervalMs: 250, what: `the demo run streaming\n${demo.output()}` },
    );
    await demo.interrupt();
    stack = undefined;
  }, 180_000);

  it('npm start lists the run; it opens with every curve and its images', async () => {
    stack = npm(['start'], env);
    const started = stack;
    const run = await waitFor(() => findRun().catch(() => undefined), {
      timeoutMs: 150_000,
      intervalMs: 250,
      what: `the kept run listed after npm start\n${started.output()}`,
    });
    expect(run.batchesReceived).toBeGreaterThanOrEqual(150n);
    const stored = await dashboard().querySeries({ sessionId: run.sessionId });
    const names = stored.series.map((series) => series.name);
    expect(names).toContain('loss');
    const loss = stored.series.find((series) => series.name === 'loss');
    expect(loss?.totalPoints).toBe(run.batchesReceived);

    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.url()}`);
    });
    page.on('console', (message) => {
      if (message.type() === 'error') failedRequests.push(message.text());
    });
    await page.goto(httpUrl);
    const row = page.locator('[data-testid="session-row"]', { hasText: RUN_NAME });
    await row.waitFor({ timeout: 20_000 });
    await row.getByRole('link').first().click();
    await page.getByTestId('session-title').filter({ hasText: run.sessionId }).waitFor();

    // Every curve the store holds, each point of the loss (fewer than the history bound).
    for (const series of stored.series) {
      const panel = page.locator(panelSelector(series.name));
      await panel.scrollIntoViewIfNeeded();
      await page.waitForFunction(
        ([selector, total]) =>
          Number(document.querySelector(selector as string)?.getAttribute('data-points')) >=
          Math.min(Number(total), 2),
        [panelSelector(series.name), String(series.totalPoints)] as const,
        { timeout: 20_000 },
      );
    }
    await page.waitForFunction(
      (total) =>
        Number(
          document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points'),
        ) === total,
      Number(loss?.totalPoints),
      { timeout: 20_000 },
    );
    // Its images, decoded.
    await page.waitForFunction(
      () => {
        // The live image grid (the image history panel shows the same frame in its own grid).
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
    expect(pageErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
  }, 240_000);
});
