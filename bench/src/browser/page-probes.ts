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
