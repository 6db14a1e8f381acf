import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

/**
 * A directory to write CPU profiles of a browser benchmark's timed parts
 * into (`<name>.cpuprofile`, for Chrome DevTools), when set: the figures
 * then include the profiler's own cost.
 */
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR;

/**
 * Runs `during` under the page's CPU profiler when BENCH_CPU_PROFILE_DIR is
 * set, and writes `<name>.cpuprofile`; with BENCH_TRACE=1 a Chromium
 * performance trace instead (`<name>.trace.json`: paint, raster, layout, tasks).
 */
export async function profiled<T>(page: Page, name: string, during: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return during();
  if (process.env.BENCH_TRACE === '1') {
    mkdirSync(PROFILE_DIR, { recursive: true });
    const browser = page.context().browser();
    if (!browser) return during();
    await browser.startTracing(page, {
      path: join(PROFILE_DIR, `${name}.trace.json`),
      categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'cc', 'gpu'],
    });
    const result = await during();
    await browser.stopTracing();
    return result;
  }
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  const result = await during();
  const { profile } = await cdp.send('Profiler.stop');
  mkdirSync(PROFILE_DIR, { recursive: true });
  writeFileSync(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
  await cdp.detach();
  return result;
}
