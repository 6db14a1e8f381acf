import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@trainwatch/testing';
import type { Locator, Page } from 'playwright-core';

/**
 * Rewrites `docs/<name>.png`, a picture the root README shows, from the page
 * or one element of it as the test sees it: each run of the suite keeps them
 * true to the current app. An element is scrolled to the top of the view and
 * cut at `maxHeight` pixels (a panel that lists many images stays readable).
 */
export async function readmeScreenshot(
  name: string,
  of: Page | Locator,
  maxHeight = 900,
): Promise<void> {
  const path = join(WORKSPACE_ROOT, 'docs', `${name}.png`);
  if (!('page' in of)) {
    await of.screenshot({ path });
    return;
  }
  await of.evaluate((element) => element.scrollIntoView({ block: 'start' }));
  const box = await of.boundingBox();
  if (box === null) throw new Error(`${name}: the element is not on the page`);
  await of.page().screenshot({
    path,
    clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, maxHeight) },
  });
}
