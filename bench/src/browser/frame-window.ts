import type { Page } from 'playwright-core';
import type { FrameProbes } from './page-probes';

/** Frames and long tasks counted in a page (installFrameProbes) over a window. */
export interface FrameWindow {
  fps: number;
  longTasks: number;
  longTaskMs: number;
  /** Longest task since the page opened (the probes keep no per-window maximum). */
  longestTaskMs: number;
  seconds: number;
}

const probes = (page: Page): Promise<FrameProbes> => page.evaluate(() => ({ ...window.__bench }));

/**
 * Runs `during` (the interaction: scrolling, dragging) and reports the
 * page's frame rate and long tasks while it ran. The page must have the
 * probes installed (`page.addInitScript(installFrameProbes)`).
 */
export async function measureFrames(page: Page, during: () => Promise<void>): Promise<FrameWindow> {
  const before = await probes(page);
  const began = performance.now();
  await during();
  const after = await probes(page);
  const seconds = (performance.now() - began) / 1000;
  return {
    fps: (after.frames - before.frames) / seconds,
    longTasks: after.longTasks - before.longTasks,
    longTaskMs: after.longTaskMs - before.longTaskMs,
    longestTaskMs: after.longestTaskMs,
    seconds,
  };
}

/** Resolves after the page painted twice more (what was changed is on screen). */
export function painted(page: Page): Promise<void> {
  return page.evaluate(
    () =>
      new Promise<void>((resolve) =>
        requestAnimationFrame(() => requestAnimationFrame(() => resolve())),
      ),
  );
}
