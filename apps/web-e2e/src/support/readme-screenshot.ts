import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@trainwatch/testing';
import type { Locator, Page } from 'playwright-core';

/**
 * Rewrites `docs/<name>.png`, a picture the root README shows, from the page
 * or one element of it as the test sees it: each run of the suite keeps them
 * true to the current app.
 */
export async function readmeScreenshot(name: string, of: Page | Locator): Promise<void> {
  await of.screenshot({ path: join(WORKSPACE_ROOT, 'docs', `${name}.png`) });
}
