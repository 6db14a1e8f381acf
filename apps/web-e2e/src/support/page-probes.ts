/**
 * Installed in the page before the app loads: counts what the browser does
 * so tests can check the dashboard's bounds from outside.
 */
export interface PageProbes {
  /** Object URLs created and not yet revoked, now and at most. */
  liveUrls: number;
  maxLiveUrls: number;
  /** Requests opened per gRPC-Web method name. */
  calls: Record<string, number>;
  /** Animation frames the page painted. */
  frames: number;
}

declare global {
  interface Window {
    __probes: PageProbes;
  }
}

/** The init script (runs in the page; must be self-contained). */
export function installPageProbes(): void {
  const probes: PageProbes = { liveUrls: 0, maxLiveUrls: 0, calls: {}, frames: 0 };
  window.__probes = probes;
  const live = new Set<string>();
  const create = URL.createObjectURL.bind(URL);
  const revoke = URL.revokeObjectURL.bind(URL);
  URL.createObjectURL = (object: Blob | MediaSource) => {
    const url = create(object);
    live.add(url);
    probes.liveUrls = live.size;
    probes.maxLiveUrls = Math.max(probes.maxLiveUrls, live.size);
    return url;
  };
  URL.revokeObjectURL = (url: string) => {
    live.delete(url);
    probes.liveUrls = live.size;
    revoke(url);
  };
  const fetchOriginal = window.fetch.bind(window);
  window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = /\/telemetry\.v1\.DashboardService\/(\w+)/.exec(url)?.[1];
    if (method) probes.calls[method] = (probes.calls[method] ?? 0) + 1;
    return fetchOriginal(input, init);
  };
  const tick = (): void => {
    probes.frames++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
