import type { Page } from 'playwright-core';

/**
 * Drags across the middle third of the loss chart with real input events
 * (uPlot's zoom gesture) and resolves with the milliseconds from the press
 * until the second animation frame after the release, i.e. until the zoomed
 * chart was painted. Includes the input round trips to the browser.
 */
export async function zoomLossChart(page: Page): Promise<number> {
  const box = await page.locator('.uplot .u-over').first().boundingBox();
  if (!box) throw new Error('no uPlot chart on the page');
  const y = box.y + box.height / 2;
  const began = performance.now();
  await page.mouse.move(box.x + box.width / 3, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, y, { steps: 3 });
  await page.mouse.move(box.x + (2 * box.width) / 3, y, { steps: 3 });
  await page.mouse.up();
  await page.evaluate(
    () =>
      new Promise<void>((resolve) =>
        requestAnimationFrame(() => requestAnimationFrame(() => resolve())),
      ),
  );
  return performance.now() - began;
}
