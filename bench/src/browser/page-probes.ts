/** What the init script counts inside the page. */
export interface FrameProbes {
  frames: number;
  longTasks: number;
  longTaskMs: number;
  longestTaskMs: number;
}

declare global {
  interface Window {
    __bench: FrameProbes;
  }
}

/**
 * Installed before the app loads (must be self-contained: it is serialized
 * into the page): counts animation frames and long tasks.
 */
export function installFrameProbes(): void {
  const probes: FrameProbes = { frames: 0, longTasks: 0, longTaskMs: 0, longestTaskMs: 0 };
  window.__bench = probes;
  const tick = (): void => {
    probes.frames++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      probes.longTasks++;
      probes.longTaskMs += entry.duration;
      probes.longestTaskMs = Math.max(probes.longestTaskMs, entry.duration);
    }
  }).observe({ type: 'longtask', buffered: true });
}

/**
 * Runs in the page: drags across the middle third of the loss chart's
 * overlay (uPlot's zoom gesture) and resolves with the milliseconds until the
 * second animation frame after the release, i.e. until the zoomed chart was
 * painted.
 */
export async function zoomLossChart(): Promise<number> {
  const over = document.querySelector<HTMLElement>('.uplot .u-over');
  if (!over) throw new Error('no uPlot chart on the page');
  const box = over.getBoundingClientRect();
  const y = box.top + box.height / 2;
  const at = (type: string, x: number, target: EventTarget) =>
    target.dispatchEvent(
      new MouseEvent(type, { clientX: x, clientY: y, bubbles: true, button: 0, buttons: 1 }),
    );
  const began = performance.now();
  at('mousedown', box.left + box.width / 3, over);
  at('mousemove', box.left + box.width / 2, document);
  at('mousemove', box.left + (2 * box.width) / 3, document);
  at('mouseup', box.left + (2 * box.width) / 3, document);
  await new Promise<void>((resolve) =>
    requestAnimationFrame(() => requestAnimationFrame(() => resolve())),
  );
  return performance.now() - began;
}
