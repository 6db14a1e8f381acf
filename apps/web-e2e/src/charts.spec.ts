import { fromBinary } from '@bufbuild/protobuf';
import { QuerySeriesRequestSchema, type QuerySeriesRequest } from '@trainwatch/proto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  launchChromium,
  startServerProcess,
  WORKSPACE_ROOT,
  type ServerProcess,
} from '@trainwatch/testing';
import type { Browser, Locator, Page } from 'playwright-core';
import { startDemoRun, type DemoRun } from './support/demo-run';
import { explain } from './support/explain';
import { openRunFromList } from './support/runs-list';

const WEB_DIST = join(WORKSPACE_ROOT, 'dist/apps/web');
const RUN_NAME = 'e2e-charts';
const OTHER_NAME = 'e2e-compare-with';

/** A chart's panel (scrolled to) and its plot (the chart layer's element). */
interface Chart {
  panel: Locator;
  plot: Locator;
}

function seriesChart(page: Page, name: string): Chart {
  const panel = page.locator(`[data-testid="series-panel"][data-series="${name}"]`);
  return { panel, plot: panel.locator('[data-testid="series-chart"]') };
}

function compareChart(page: Page, name: string): Chart {
  const panel = page.locator(`[data-testid="compare-chart"][data-series="${name}"]`);
  return { panel, plot: panel.locator('[data-testid="compare-plot"]') };
}

/** Every QuerySeries request the page sends, decoded from its gRPC-Web body. */
function recordQuerySeries(page: Page): QuerySeriesRequest[] {
  const seen: QuerySeriesRequest[] = [];
  page.on('request', (request) => {
    if (!request.url().endsWith('/QuerySeries')) return;
    const body = request.postDataBuffer();
    // gRPC-Web frame: 1 flag byte, 4 length bytes, then the message.
    if (body && body.length >= 5) seen.push(fromBinary(QuerySeriesRequestSchema, body.subarray(5)));
  });
  return seen;
}

/** Scrolls a chart's panel into view (a series panel draws only while on screen), waits for uPlot. */
async function showChart(chart: Chart): Promise<void> {
  await chart.panel.scrollIntoViewIfNeeded();
  await chart.plot.locator('.u-over').waitFor();
}

/** Drags across `plot` from `from` to `to` (fractions of its width). */
async function dragAcross(page: Page, plot: Locator, from: number, to: number): Promise<void> {
  const box = await plot.locator('.u-over').boundingBox();
  if (!box) throw new Error('chart has no plotting area');
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * from, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * ((from + to) / 2), y, { steps: 4 });
  await page.mouse.move(box.x + box.width * to, y, { steps: 4 });
  await page.mouse.up();
}

/** Where on `plot` (fraction of its width) the mouse goes. */
async function pointAt(page: Page, plot: Locator, at: number): Promise<void> {
  const box = await plot.locator('.u-over').boundingBox();
  if (!box) throw new Error('chart has no plotting area');
  await page.mouse.move(box.x + box.width * at, box.y + box.height / 2, { steps: 2 });
}

async function zoomOf(plot: Locator): Promise<[number, number]> {
  const text = (await plot.getAttribute('data-zoom')) ?? '';
  const [from, to] = text.split('~').map(Number);
  return [from, to];
}

/** Waits until every chart in `plots` shows the full-resolution window of the same zoom. */
async function waitForWindow(page: Page, selector: string): Promise<void> {
  await page.waitForFunction(
    (wanted) => {
      const plots = [...document.querySelectorAll(wanted)];
      return (
        plots.length > 0 &&
        plots.every(
          (plot) =>
            plot.getAttribute('data-zoom') !== null &&
            plot.getAttribute('data-resolution') === 'full' &&
            Number(plot.getAttribute('data-window-points')) > 0,
        )
      );
    },
    selector,
    { timeout: 15_000 },
  );
}

/**
 * The chart layer in Chromium: on a live run and on the same run after it
 * finished and the server restarted, the page-wide x axis and smoothing,
 * a zoom on one panel that every panel follows (each then reads its window
 * at full resolution with QuerySeries), hover values, a click that moves
 * the image history to the stored frame nearest that step, the image slider
 * moving the charts' cursor, and a copied URL reopening the same view. Then
 * the compare view: the same controls over two runs.
 */
describe('charts in Chromium', () => {
  let server: ServerProcess;
  let run: DemoRun;
  let other: DemoRun;
  let browser: Browser;
  let page: Page;
  let queries: QuerySeriesRequest[];
  let sessionId = '';
  let viewUrl = '';
  const pageErrors: string[] = [];
  const logs = () => `${server.output()}\n${run.output()}`;

  beforeAll(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html'))) {
      throw new Error(`${WEB_DIST}/index.html is missing: run \`npx nx build web\` first`);
    }
    browser = await launchChromium();
    server = await startServerProcess({ env: { WEB_DIST_DIR: WEB_DIST } });
    // Long enough to explore while it streams: 5 epochs of 60 batches at 20 per second.
    run = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 20,
      epochs: 5,
      batches: 60,
      name: RUN_NAME,
    });
    other = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 40,
      epochs: 2,
      batches: 40,
      name: OTHER_NAME,
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    queries = recordQuerySeries(page);
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

  it('on a live run: x axis, smoothing, synced zoom at full resolution, hover, step cursor, URL', async () => {
    const row = page.locator('[data-testid="session-row"]', { hasText: RUN_NAME });
    await explain('session row', logs, () => row.waitFor({ timeout: 30_000 }));
    sessionId = (await row.getAttribute('data-session-id')) ?? '';
    await openRunFromList(page, sessionId);
    const lossChart = seriesChart(page, 'loss');
    const lrChart = seriesChart(page, 'lr');
    const loss = lossChart.plot;
    const lr = lrChart.plot;
    await explain('loss and lr charts', logs, async () => {
      await showChart(lossChart);
      await showChart(lrChart);
    });
    // Enough steps to zoom into.
    await page.waitForFunction(
      () =>
        Number(
          document
            .querySelector('[data-testid="series-panel"][data-series="loss"]')
            ?.getAttribute('data-points'),
        ) > 60,
      undefined,
      { timeout: 20_000 },
    );

    // One x-axis control for the page: every chart follows, the URL records it.
    await page.getByTestId('chart-x-axis').selectOption('wall');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="series-chart"]')].every(
        (chart) => chart.getAttribute('data-x-axis') === 'wall',
      ),
    );
    expect(page.url()).toContain('x=wall');
    await page.getByTestId('chart-x-axis').selectOption('epoch');
    await lr.and(page.locator('[data-x-axis="epoch"]')).waitFor();
    await page.getByTestId('chart-x-axis').selectOption('step');
    await lr.and(page.locator('[data-x-axis="step"]')).waitFor();

    // Smoothing: a running average over 5 points.
    await page.getByTestId('chart-smoothing-mode').selectOption('average');
    await page.getByTestId('chart-smoothing-window').fill('5');
    await page.waitForFunction(() => window.location.hash.includes('smooth=average%3A5'));

    // Zoom the loss chart: the lr chart follows, and both read the window at full resolution.
    await showChart(lossChart);
    const before = queries.length;
    await dragAcross(page, loss, 0.3, 0.6);
    await explain('zoomed window at full resolution', logs, () =>
      waitForWindow(page, '[data-testid="series-chart"][data-series="loss"]'),
    );
    const [from, to] = await zoomOf(loss);
    expect(to).toBeGreaterThan(from);
    await showChart(lrChart);
    await waitForWindow(page, '[data-testid="series-chart"][data-series="lr"]');
    expect(await zoomOf(lr)).toEqual([from, to]);
    // The large loss chart at the top follows too.
    expect(await zoomOf(page.getByTestId('loss-plot'))).toEqual([from, to]);
    const asked = queries.slice(before).filter((query) => query.names.includes('loss'));
    expect(asked.length).toBeGreaterThan(0);
    expect(Number(asked[0].fromStep)).toBe(Math.floor(from));
    expect(Number(asked[0].toStep)).toBe(Math.ceil(to));
    expect(asked[0].sessionId).toBe(sessionId);
    const windowSteps = (await loss.getAttribute('data-window')) ?? '';
    expect(windowSteps).toBe(`${Math.floor(from)}-${Math.ceil(to)}`);

    // Live points keep arriving; the zoomed charts keep their window.
    const points = Number(
      await page
        .locator('[data-testid="series-panel"][data-series="loss"]')
        .getAttribute('data-points'),
    );
    await page.waitForFunction(
      (count) =>
        Number(
          document
            .querySelector('[data-testid="series-panel"][data-series="loss"]')
            ?.getAttribute('data-points'),
        ) > count,
      points,
    );
    expect(await zoomOf(loss)).toEqual([from, to]);

    // Hover: the value under the mouse, on this chart and (synced) on the others.
    await showChart(lossChart);
    await pointAt(page, loss, 0.5);
    const readout = loss.locator('[data-testid="chart-readout"]');
    await readout.filter({ hasText: /step \d+ · / }).waitFor();
    const hoveredX = Number(await readout.getAttribute('data-x'));
    expect(hoveredX).toBeGreaterThanOrEqual(from);
    expect(hoveredX).toBeLessThanOrEqual(to);
    await lr
      .locator('[data-testid="chart-readout"]')
      .filter({ hasText: /step \d+ · / })
      .waitFor();

    // Hover alone: the image history shows the stored frame nearest the hovered step, the URL stays.
    const imagesNear = (wanted: number) =>
      page.waitForFunction(
        (at) => {
          const panel = document.querySelector('[data-testid="image-history-panel"]');
          const output = document.querySelector('[data-testid="image-history-step"]');
          const shown = Number(output?.getAttribute('data-shown-step'));
          return (
            panel?.getAttribute('data-hover-step') === String(at) &&
            output !== null &&
            output.getAttribute('data-shown-step') === output.textContent &&
            Math.abs(shown - at) <= 5
          );
        },
        wanted,
        { timeout: 15_000 },
      );
    await explain('image history at the hovered step', logs, () => imagesNear(hoveredX));
    expect(page.url()).not.toContain('step=');
    await pointAt(page, loss, 0.35);
    await readout
      .and(page.locator(`:not([data-x="${hoveredX}"])`))
      .filter({ hasText: /step \d+ · / })
      .waitFor();
    const movedX = Number(await readout.getAttribute('data-x'));
    expect(movedX).toBeLessThan(hoveredX);
    await explain('image history follows the pointer', logs, () => imagesNear(movedX));
    await pointAt(page, loss, 0.5);
    await readout.and(page.locator(`[data-x="${hoveredX}"]`)).waitFor();

    // Click: the step cursor; the image history shows the stored frame nearest it.
    await page.mouse.down();
    await page.mouse.up();
    const cursor = page.getByTestId('chart-cursor-step');
    await cursor.and(page.locator('[data-step]')).waitFor();
    const step = Number(await cursor.getAttribute('data-step'));
    expect(step).toBe(hoveredX);
    // Off the charts: the image history goes back to the cursor (hover no longer leads it).
    await page.mouse.move(1, 1);
    await page.waitForFunction(
      () =>
        !document
          .querySelector('[data-testid="image-history-panel"]')
          ?.hasAttribute('data-hover-step'),
    );
    const history = page.getByTestId('image-history-panel');
    await history.scrollIntoViewIfNeeded();
    await explain('image history at the cursor', logs, () =>
      page.waitForFunction(
        (wanted) => {
          const output = document.querySelector('[data-testid="image-history-step"]');
          const shown = Number(output?.getAttribute('data-shown-step'));
          return (
            output !== null &&
            output.getAttribute('data-shown-step') === output.textContent &&
            Math.abs(shown - wanted) <= 5
          );
        },
        step,
        { timeout: 15_000 },
      ),
    );
    expect(page.url()).toContain(`step=${step}`);

    // A copied link opens the same view in a new page.
    viewUrl = page.url();
    const copy = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    copy.on('pageerror', (error) => pageErrors.push(error.message));
    await copy.goto(viewUrl);
    await showChart(seriesChart(copy, 'loss'));
    expect(await copy.getByTestId('chart-x-axis').inputValue()).toBe('step');
    expect(await copy.getByTestId('chart-smoothing-mode').inputValue()).toBe('average');
    expect(await copy.getByTestId('chart-smoothing-window').inputValue()).toBe('5');
    await waitForWindow(copy, '[data-testid="series-chart"][data-series="loss"]');
    expect(await zoomOf(seriesChart(copy, 'loss').plot)).toEqual([from, to]);
    expect(
      Number(await copy.getByTestId('image-history-panel').getAttribute('data-cursor-step')),
    ).toBe(step);
    await copy.close();

    // Back undoes the click (the cursor), then the zoom.
    await page.goBack();
    await page.waitForFunction(() => !window.location.hash.includes('step='));
    expect(await cursor.getAttribute('data-step')).toBeNull();
    // One step further back is the view before the zoom: one drag, one history entry, however
    // many synced charts replayed it.
    await page.goBack();
    await page.waitForFunction(() => !window.location.hash.includes('zoom='), undefined, {
      timeout: 5_000,
    });
    await loss.and(page.locator('[data-resolution="live"]')).waitFor();
    expect(await loss.getAttribute('data-zoom')).toBeNull();
  }, 60_000);

  it('a live series longer than the browser keeps draws its downsampled part with a min/max band', async () => {
    // 2,600 batches in a few seconds: more lr points than the page keeps per series (2,000).
    const fast = startDemoRun({
      grpcAddress: server.grpcAddress,
      fps: 500,
      epochs: 1,
      batches: 2600,
      name: 'e2e-band',
      extraArgs: ['--images', '0'],
    });
    try {
      await page.goto(server.httpUrl);
      const row = page.locator('[data-testid="session-row"]', { hasText: 'e2e-band' });
      await explain(
        'fast run row',
        () => `${logs()}\n${fast.output()}`,
        () => row.waitFor({ timeout: 30_000 }),
      );
      const id = (await row.getAttribute('data-session-id')) ?? '';
      await openRunFromList(page, id);
      const lrChart = seriesChart(page, 'lr');
      await showChart(lrChart);
      // No band while every point is exact; once the oldest points are downsampled, a band.
      await explain(
        'band on the live lr chart',
        () => `${logs()}\n${fast.output()}`,
        () => lrChart.plot.and(page.locator('[data-band="min-max"]')).waitFor({ timeout: 30_000 }),
      );
      expect(await lrChart.plot.getAttribute('data-resolution')).toBe('live');
      expect(Number(await lrChart.panel.getAttribute('data-points'))).toBeLessThanOrEqual(2000);
    } finally {
      await fast.kill();
    }
  }, 60_000);

  it('after the run ends and the server restarts: the same view from the URL, slider moves the cursor', async () => {
    await explain('run completes', logs, () => run.exited);
    await explain('other run completes', logs, () => other.exited);
    await server.stop();
    await server.start();
    await page.goto(viewUrl);
    await page.reload();
    const lossChart = seriesChart(page, 'loss');
    const loss = lossChart.plot;
    await explain('loss chart after restart', logs, () => showChart(lossChart));
    await explain('zoomed window from the store', logs, () =>
      waitForWindow(page, '[data-testid="series-chart"][data-series="loss"]'),
    );
    expect(await page.getByTestId('chart-smoothing-mode').inputValue()).toBe('average');

    // Zoom out by double-click: every chart back on the whole run.
    await loss.locator('.u-over').dblclick();
    await loss.and(page.locator('[data-resolution="live"]')).waitFor();
    expect(page.url()).not.toContain('zoom=');

    // The image slider moves the charts' cursor.
    const history = page.getByTestId('image-history-panel');
    await history.scrollIntoViewIfNeeded();
    const slider = page.getByTestId('image-history-slider');
    await slider.waitFor();
    await slider.focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    const shown = page.getByTestId('image-history-step');
    await page.waitForFunction(() => {
      const output = document.querySelector('[data-testid="image-history-step"]');
      const cursor = document.querySelector('[data-testid="chart-cursor-step"]');
      return output !== null && cursor?.getAttribute('data-step') === output.textContent;
    });
    // The slider's step reaches the URL after the frame that shows it.
    const scrubbed = (await shown.textContent()) ?? '';
    await page.waitForFunction(
      (wanted) => window.location.hash.includes(`step=${wanted}`),
      scrubbed,
    );

    // Switch the x axis on the finished run and zoom again: the window comes from the store.
    await page.getByTestId('chart-x-axis').selectOption('relative');
    await showChart(lossChart);
    await loss.and(page.locator('[data-x-axis="relative"]')).waitFor();
    await dragAcross(page, loss, 0.2, 0.5);
    await waitForWindow(page, '[data-testid="series-chart"][data-series="loss"]');
    expect(page.url()).toContain('x=relative');
  }, 60_000);

  it('compares two runs with the same controls: synced zoom per run, hover values of every run, URL', async () => {
    await page.goto(server.httpUrl);
    for (const name of [RUN_NAME, OTHER_NAME]) {
      await page
        .locator('[data-testid="session-row"]', { hasText: name })
        .getByTestId('run-select')
        .check();
    }
    await page.getByTestId('runs-compare').click();
    const lossCompare = compareChart(page, 'loss');
    const lossPlot = lossCompare.plot;
    const lrCompare = compareChart(page, 'lr');
    const lrPlot = lrCompare.plot;
    await explain('compare charts', logs, () => showChart(lossCompare));
    const before = queries.length;
    await dragAcross(page, lossPlot, 0.1, 0.4);
    await waitForWindow(page, '[data-testid="compare-plot"][data-series="loss"]');
    await showChart(lrCompare);
    expect(await zoomOf(lrPlot)).toEqual(await zoomOf(lossPlot));
    const asked = queries.slice(before).filter((query) => query.names.includes('loss'));
    // One window per run.
    expect(new Set(asked.map((query) => query.sessionId)).size).toBe(2);

    await showChart(lossCompare);
    // Scrolled back into view, the chart loads its window again: hover once both runs' points are in.
    await waitForWindow(page, '[data-testid="compare-plot"][data-series="loss"]');
    await pointAt(page, lossPlot, 0.25);
    const readout = lossPlot.locator('[data-testid="chart-readout"]');
    await readout.filter({ hasText: RUN_NAME }).filter({ hasText: OTHER_NAME }).waitFor();

    await page.getByTestId('chart-smoothing-mode').selectOption('time-ema');
    await page.getByTestId('compare-legend-item').nth(1).uncheck();
    await page
      .locator('[data-testid="compare-chart"][data-series="loss"][data-runs="1"]')
      .waitFor();
    const url = page.url();
    expect(url).toContain('hide=');
    const copy = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    copy.on('pageerror', (error) => pageErrors.push(error.message));
    await copy.goto(url);
    await copy
      .locator('[data-testid="compare-chart"][data-series="loss"][data-runs="1"]')
      .waitFor();
    expect(await copy.getByTestId('chart-smoothing-mode').inputValue()).toBe('time-ema');
    await waitForWindow(copy, '[data-testid="compare-plot"][data-series="loss"]');
    await copy.close();
  }, 60_000);
});
