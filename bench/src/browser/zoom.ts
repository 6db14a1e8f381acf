import type { Page } from 'playwright-core';

/** How long the loss chart may take to be on screen before a zoom gives up. */
const CHART_VISIBLE_TIMEOUT_MS = 10_000;

/**
 * Drags across the middle third of the loss chart with real input events
 * (uPlot's zoom gesture) and resolves with the milliseconds from the press
 * until the second animation frame after the release, i.e. until the zoomed
 * chart was painted. Includes the input round trips to the browser.
 */
export async function zoomLossChart(page: Page): Promise<number> {
  const over = page.locator('.uplot .u-over').first();
  const box = await over
    .waitFor({ state: 'visible', timeout: CHART_VISIBLE_TIMEOUT_MS })
    .then(() => over.boundingBox())
    .catch(() => null);
  if (!box) throw new Error(`no visible uPlot chart on the page: ${await describeCharts(page)}`);
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

/** What the page shows instead, for the error: each uPlot plot's box, or the page's first words. */
async function describeCharts(page: Page): Promise<string> {
  return page.evaluate(() => {
    const plots = [...document.querySelectorAll('.uplot .u-over')].map((element) => {
      const r = element.getBoundingClientRect();
      return `${Math.round(r.width)}×${Math.round(r.height)} at (${Math.round(r.x)}, ${Math.round(r.y)})`;
    });
    if (plots.length > 0) return `${plots.length} plot(s): ${plots.join('; ')}`;
    return `none; the page reads "${(document.body.innerText ?? '').slice(0, 300).replace(/\s+/g, ' ')}"`;
  });
}
