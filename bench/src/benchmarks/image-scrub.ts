/**
 * Image scrubbing: a run with 16 × 2 KB images in each of its stored frames,
 * the session page in headless Chromium, and the image history slider moved
 * back one stored frame at a time with the arrow key: how long until each
 * frame is on screen with every tile painted.
 */
import { launchChromium } from '@trainwatch/testing';
import type { Page } from 'playwright-core';
import { installFrameProbes } from '../browser/page-probes';
import { measureFrames } from '../browser/frame-window';
import { count, ms, num } from '../common/format';
import { jpegSet } from '../common/jpeg-payloads';
import { LiveSession } from '../common/live-session';
import { runBench, type TargetVerdict } from '../common/result';
import { summarize } from '../common/stats';
import { startTarget } from '../common/targets';
import { encodeImagePart } from '../common/wire';

const PRESSES = 100;
/** Batches stored first: every one of the newest 256 steps keeps its frame. */
const BATCHES = 200;
const TARGET_MS = 100;
/**
 * Time the page is given once the newest frame is painted, before the first
 * press: scrubbing starts on a page done loading (its first prefetch answer
 * and decodes), as a person looks at the frame before moving the slider. A
 * press inside the load's first second waited for them (62-82 ms).
 */
const SETTLE_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface ScrubProbes {
  /** Time of the last key press as the page received it (its `timeStamp`). */
  __keyDownAt: number;
  /**
   * The step whose frame is on screen, when the slider names it and every
   * tile has painted it; '' otherwise.
   */
  __paintedStep: () => string;
}

/** Installed before the app loads: the key press recorder and the painted-frame probe. */
function installScrubProbes(): void {
  const probes = window as unknown as ScrubProbes;
  window.addEventListener('keydown', (event) => (probes.__keyDownAt = event.timeStamp), {
    capture: true,
  });
  probes.__paintedStep = () => {
    const output = document.querySelector('[data-testid="image-history-step"]');
    const step = output?.getAttribute('data-shown-step') ?? '';
    if (output === null || step === '' || step !== output.textContent) return '';
    const tiles = [
      ...document.querySelectorAll<HTMLCanvasElement>(
        '[data-testid="image-history-panel"] [data-testid="image-tile-canvas"]',
      ),
    ];
    return tiles.length > 0 && tiles.every((tile) => tile.dataset.drawn === step) ? step : '';
  };
}

/**
 * Presses the left arrow on the focused slider and resolves with the
 * milliseconds from the page receiving the key (its `timeStamp`, the
 * moment a person's press reaches the page) to the first animation frame at
 * which the step the slider names is the frame shown and every tile has
 * painted it. The driver's own round trips are not counted.
 */
async function pressAndTime(page: Page, previous: string): Promise<{ ms: number; step: string }> {
  await page.keyboard.press('ArrowLeft');
  const handle = await page.waitForFunction(
    (before) => {
      const probes = window as unknown as ScrubProbes;
      const step = probes.__paintedStep();
      if (step === '' || step === before) return false;
      return { ms: performance.now() - probes.__keyDownAt, step };
    },
    previous,
    { timeout: 10_000, polling: 'raf' },
  );
  return (await handle.jsonValue()) as { ms: number; step: string };
}

runBench(
  'image-scrub',
  'Image scrubbing: 100 stored frames by keyboard in Chromium',
  async ({ quick }) => {
    const presses = quick ? 30 : PRESSES;
    const target = await startTarget('product');
    const session = new LiveSession(target, 'bench-scrub', encodeImagePart(jpegSet(2048, 16)), 60);
    const browser = await launchChromium();
    try {
      await session.trainer.open();
      for (let sent = 0; sent < BATCHES;) {
        if (session.trainer.sendBatch()) sent++;
        else await sleep(2);
      }
      const deadline = performance.now() + 30_000;
      while (session.trainer.lag > 0 && performance.now() < deadline) await sleep(5);
      if (session.trainer.firstError)
        throw new Error(`filling frames: ${session.trainer.firstError}`);

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.addInitScript(installFrameProbes);
      await page.addInitScript(installScrubProbes);
      await page.goto(`${target.httpUrl}/#/sessions/${session.sessionId}`);
      const slider = page.getByTestId('image-history-slider');
      await slider.waitFor({ timeout: 30_000 });
      await slider.scrollIntoViewIfNeeded();
      await page.waitForFunction(
        (wanted) =>
          Number.parseInt(
            document.querySelector('[data-testid="image-history-count"]')?.textContent ?? '0',
            10,
          ) >= wanted,
        presses + 1,
        { timeout: 30_000 },
      );
      await slider.focus();
      await page.waitForFunction(
        () => (window as unknown as ScrubProbes).__paintedStep() !== '',
        undefined,
        { timeout: 30_000 },
      );
      await sleep(SETTLE_MS);
      const stored = await page.getByTestId('image-history-count').textContent();

      const times: number[] = [];
      let step =
        (await page.getByTestId('image-history-step').getAttribute('data-shown-step')) ?? '';
      const frames = await measureFrames(page, async () => {
        for (let press = 0; press < presses; press++) {
          const shown = await pressAndTime(page, step);
          times.push(shown.ms);
          step = shown.step;
        }
      });
      await page.close();
      const summary = summarize(times);
      const over = times.filter((time) => time > TARGET_MS).length;
      const targets: TargetVerdict[] = [
        {
          target: `Scrubbing ${PRESSES} image steps with the keyboard shows each frame within ${ms(TARGET_MS)}`,
          measured: `max ${ms(summary.max)}, p95 ${ms(summary.p95)} over ${presses} presses; ${over} over ${ms(TARGET_MS)}`,
          met: quick ? null : summary.max <= TARGET_MS,
        },
      ];
      return {
        method:
          `A trainer sends ${BATCHES} batches of 16 × 2 KB JPEGs through the built server (SQLite store; the newest ` +
          '256 steps keep every frame), then the session page opens in headless Chromium (1280×900). The image ' +
          `history slider is focused, its newest frame painted and the page given ${ms(SETTLE_MS)} to finish loading; then the left arrow is pressed, ` +
          'each press timed in the page from the keydown ' +
          "event's timeStamp to the first animation frame at which the slider names a new step, that frame is the " +
          'one shown, and every tile canvas has painted it (bitmaps decoded off the main thread).',
        tables: [
          {
            caption: `Image history: ${presses} presses of the left arrow (${stored ?? '?'})`,
            columns: ['measure', 'value'],
            rows: [
              [
                'press → frame painted',
                `p50 ${ms(summary.p50)}, p95 ${ms(summary.p95)}, max ${ms(summary.max)}`,
              ],
              [`presses over ${ms(TARGET_MS)}`, count(over)],
              [
                'frame rate while scrubbing',
                `${num(frames.fps)} fps, ${count(frames.longTasks)} long tasks (${ms(frames.longTaskMs)} in all)`,
              ],
            ],
          },
        ],
        targets,
        notes: quick ? [`Quick run: ${presses} presses instead of ${PRESSES}.`] : [],
      };
    } finally {
      await session.close();
      await browser.close();
      await target.stop();
    }
  },
);
