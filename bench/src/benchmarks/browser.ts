/**
 * Browser: the dashboard in headless Chromium receiving 60 msg/s with 16
 * images (frames per second, long tasks, JS heap over time), and the loss
 * chart's responsiveness on a session with a 1,000,000-batch history.
 */
import type { CDPSession, Page } from 'playwright-core';
import { count, mb, mbDelta, ms, num, times } from '../common/format';
import { jpegSet } from '../common/jpeg-payloads';
import { LiveSession } from '../common/live-session';
import { ProcSampler } from '../common/proc-stats';
import { runBench, type ResultTable, type TargetVerdict } from '../common/result';
import { ratio, slope } from '../common/stats';
import { startTarget, type Target } from '../common/targets';
import { benchMetricNames, encodeImagePart } from '../common/wire';
import { launchChromium } from '@trainwatch/testing';
import { installFrameProbes, type FrameProbes } from '../browser/page-probes';
import { zoomLossChart } from '../browser/zoom';

const RATE = 60;
const TARGET_FPS = 55;
/** Named values per live batch besides the loss (the issue's 50 live series). */
const LIVE_METRICS = 49;
/** Heap growth tolerated as "no growth": GC noise of a page that streams images. */
const HEAP_NOISE_BYTES = 2e6;
/** Most time the history flood may take before the benchmark reports what it reached. */
const FLOOD_DEADLINE_MS = 300_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function heapUsed(cdp: CDPSession, collect: boolean): Promise<number> {
  if (collect) await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const heap = metrics.find((m) => m.name === 'JSHeapUsedSize');
  if (!heap) throw new Error('JSHeapUsedSize missing from Performance.getMetrics');
  return heap.value;
}

const probes = (page: Page) => page.evaluate(() => ({ ...window.__bench }));

interface FrameWindow {
  fps: number;
  longTasks: number;
  longTaskMs: number;
  longestTaskMs: number;
}

async function frameWindow(
  page: Page,
  durationMs: number,
  during?: (elapsedMs: number) => Promise<void>,
  everyMs = 10_000,
): Promise<FrameWindow> {
  const before: FrameProbes = await probes(page);
  const began = performance.now();
  while (performance.now() - began < durationMs) {
    await sleep(Math.min(everyMs, durationMs - (performance.now() - began)));
    await during?.(performance.now() - began);
  }
  const after: FrameProbes = await probes(page);
  const seconds = (performance.now() - began) / 1000;
  return {
    fps: (after.frames - before.frames) / seconds,
    longTasks: after.longTasks - before.longTasks,
    longTaskMs: after.longTaskMs - before.longTaskMs,
    longestTaskMs: after.longestTaskMs,
  };
}

/** Streams `batches` scalar-only batches as fast as the server acknowledges them. */
async function flood(
  session: LiveSession,
  batches: number,
): Promise<{ sent: number; seconds: number }> {
  const trainer = session.trainer;
  const began = performance.now();
  let sent = 0;
  while (sent < batches && performance.now() - began < FLOOD_DEADLINE_MS) {
    while (sent < batches && trainer.lag < 2048) {
      trainer.sendBatch();
      sent++;
    }
    await sleep(1);
  }
  const deadline = performance.now() + 30_000;
  while (trainer.lag > 0 && performance.now() < deadline) await sleep(5);
  if (trainer.firstError) throw new Error(`history flood: ${trainer.firstError}`);
  return { sent, seconds: (performance.now() - began) / 1000 };
}

runBench(
  'browser',
  'Browser: dashboard frame rate, long tasks, heap; chart with a 1M-point history',
  async ({ quick }) => {
    const liveMs = quick ? 30_000 : 300_000;
    const baselineMs = quick ? 5000 : 10_000;
    // Each forced GC costs a frame or two: sparse enough not to move the fps figure.
    const heapEveryMs = quick ? 10_000 : 30_000;
    const historyBatches = quick ? 50_000 : 1_000_000;
    const browser = await launchChromium();
    const target: Target = await startTarget('product');
    const server = new ProcSampler(target.pid).start();
    // The loss plus LIVE_METRICS named values: LIVE_METRICS + 1 live series.
    const live = new LiveSession(
      target,
      'browser-live',
      encodeImagePart(jpegSet(2048, 16)),
      RATE,
      0,
      benchMetricNames(LIVE_METRICS),
    );
    const history = new LiveSession(target, 'browser-history', encodeImagePart([]), RATE);
    const notes: string[] = [];
    try {
      // Baseline: the same browser painting an empty page.
      const blank = await browser.newPage();
      await blank.setContent('<!doctype html><title>blank</title>');
      await blank.evaluate(installFrameProbes);
      const idle = await frameWindow(blank, baselineMs);
      await blank.close();

      // Live dashboard.
      await live.start();
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.addInitScript(installFrameProbes);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      await page.goto(`${target.httpUrl}/#/sessions/${live.sessionId}`);
      await page.waitForSelector('.uplot', { timeout: 30_000 });
      await page.waitForSelector('[data-testid="image-tile"]', { timeout: 30_000 });
      await sleep(5000);
      const heapStart = await heapUsed(cdp, true);
      const heapTimes: number[] = [0];
      const heapValues: number[] = [heapStart];
      const from = performance.now();
      const dashboard = await frameWindow(
        page,
        liveMs,
        async (elapsed) => {
          heapTimes.push(elapsed / 1000);
          heapValues.push(await heapUsed(cdp, true));
        },
        heapEveryMs,
      );
      const serverCpu = server.window(from).cpuPercent;
      const heapEnd = await heapUsed(cdp, true);
      const tilesShown = await page.locator('[data-testid="image-tile"]').count();
      await page.close();
      await live.close();

      // A long history, then the chart.
      await history.trainer.open();
      const flooded = await flood(history, historyBatches);
      if (flooded.sent < historyBatches)
        notes.push(
          `The history flood reached ${count(flooded.sent)} of ${count(historyBatches)} batches before its deadline.`,
        );
      history.startPacing();
      const chart = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await chart.addInitScript(installFrameProbes);
      const opened = performance.now();
      await chart.goto(`${target.httpUrl}/#/sessions/${history.sessionId}`);
      await chart.waitForSelector('.uplot .u-over', { timeout: 60_000 });
      await chart.evaluate(
        () =>
          new Promise<void>((resolve) =>
            requestAnimationFrame(() => requestAnimationFrame(() => resolve())),
          ),
      );
      const firstRenderMs = performance.now() - opened;
      await sleep(2000);
      const zooms: number[] = [];
      // A failed zoom is reported, not thrown: the dashboard's figures above stand, and
      // the chart's frame rate below says whether the page was still drawing.
      let zoomFailure: string | undefined;
      for (let i = 0; i < 3 && zoomFailure === undefined; i++) {
        const began = performance.now();
        try {
          zooms.push(await zoomLossChart(chart));
        } catch (error) {
          zoomFailure = `zoom ${i + 1} of 3, ${ms(performance.now() - began)} after it began, ${ms(performance.now() - opened)} after the page was opened: ${(error as Error).message}`;
          notes.push(`The chart's zoom failed (${zoomFailure}).`);
          break;
        }
        await sleep(500);
      }
      const zoomRegistered = await chart.getByRole('button', { name: 'Reset zoom' }).isEnabled();
      if (!zoomRegistered && zoomFailure === undefined)
        notes.push(
          'The zoom drag did not register (Reset zoom stayed disabled); zoom times are not meaningful.',
        );
      const chartFrames = await frameWindow(chart, quick ? 5000 : 15_000);
      await chart.close();

      const heapSlope = slope(heapTimes, heapValues) * 60;
      const heapGrowth = heapEnd - heapStart;
      const tables: ResultTable[] = [
        {
          caption: `Dashboard receiving ${RATE} msg/s with 16 × 2 KB images for ${liveMs / 1000} s (1280×900 viewport)`,
          columns: [
            'page',
            'fps',
            'vs blank page',
            'long tasks',
            'long task time',
            'longest task',
            'JS heap start → end (after GC)',
            'heap trend',
          ],
          rows: [
            [
              'dashboard',
              num(dashboard.fps),
              times(ratio(dashboard.fps, idle.fps)),
              count(dashboard.longTasks),
              ms(dashboard.longTaskMs),
              ms(dashboard.longestTaskMs),
              `${mb(heapStart)} → ${mb(heapEnd)} (${mbDelta(heapGrowth)})`,
              `${mbDelta(heapSlope)}/min`,
            ],
            [
              'blank page (baseline)',
              num(idle.fps),
              '1.00×',
              count(idle.longTasks),
              ms(idle.longTaskMs),
              ms(idle.longestTaskMs),
              '—',
              '—',
            ],
          ],
        },
        {
          caption: `Loss chart on a session with ${count(flooded.sent)} batches of history (the server sends a downsampled curve)`,
          columns: ['measure', 'value'],
          rows: [
            [
              'history streamed (no images)',
              `${count(flooded.sent)} batches in ${num(flooded.seconds)} s (${count(flooded.sent / flooded.seconds)} msg/s)`,
            ],
            ['open page → chart painted', ms(firstRenderMs)],
            [
              'zoom drag → zoomed chart painted (3 zooms)',
              zoomFailure === undefined ? zooms.map(ms).join(', ') : `failed: ${zoomFailure}`,
            ],
            ['fps on that page, live at 60 msg/s', num(chartFrames.fps)],
            [
              'long tasks on that page',
              `${count(chartFrames.longTasks)} (${ms(chartFrames.longTaskMs)})`,
            ],
          ],
        },
      ];
      notes.push(
        `Server CPU while the dashboard watched: ${Math.round(serverCpu)}% of one core. Image tiles on screen at the end: ${tilesShown}.`,
      );
      const heapFlat = heapGrowth <= Math.max(HEAP_NOISE_BYTES, 0.05 * heapStart);
      const targets: TargetVerdict[] = [
        {
          target: `Dashboard ≥ ${TARGET_FPS} fps at ${RATE} msg/s with 16 images and ${LIVE_METRICS + 1} live series`,
          measured: `${num(dashboard.fps)} fps (blank page: ${num(idle.fps)})`,
          met: quick ? null : dashboard.fps >= TARGET_FPS,
          why:
            dashboard.fps < TARGET_FPS && idle.fps < TARGET_FPS
              ? 'headless Chromium on this machine paints a blank page below the target too'
              : undefined,
        },
        {
          // A zoomed chart of a long run once fell to 2 fps unnoticed (its band's fill, redrawn
          // on every frame of live data it did not show): now judged.
          target: `A chart zoomed into a ${count(historyBatches)}-batch run stays ≥ ${TARGET_FPS} fps while the run goes on`,
          measured: `${num(chartFrames.fps)} fps, ${count(chartFrames.longTasks)} long tasks (${ms(chartFrames.longTaskMs)}); ${zoomFailure === undefined ? `zooms ${zooms.map(ms).join(', ')}` : `zoom failed: ${zoomFailure}`}`,
          met: quick ? null : zoomFailure === undefined && chartFrames.fps >= TARGET_FPS,
        },
        {
          target: 'No JS heap growth over 5 minutes',
          measured: `${mbDelta(heapGrowth)} after GC over ${liveMs / 1000} s (trend ${mbDelta(heapSlope)}/min)`,
          met: quick ? null : heapFlat,
        },
      ];
      return {
        method:
          "playwright-core drives headless Chromium (software rendering, the e2e suite's flags). An init script counts " +
          'requestAnimationFrame callbacks and PerformanceObserver("longtask") entries; the JS heap comes from CDP ' +
          'Performance.getMetrics, each time right after HeapProfiler.collectGarbage: at start, every ' +
          `${heapEveryMs / 1000} s (the trend is their least-squares slope) and at the end. "No growth" means under ${mb(HEAP_NOISE_BYTES)} or 5% after GC. The blank page is the same ` +
          'browser painting nothing: the frame-rate ceiling of this machine. For the history, batches without images are ' +
          'streamed as fast as the server acknowledges them, then the page is opened and the chart zoomed by a drag.',
        tables,
        targets,
        notes,
      };
    } finally {
      await live.close();
      await history.close();
      server.stop();
      await browser.close();
      await target.stop();
    }
  },
);
