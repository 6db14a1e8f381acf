interface UrlTracking {
  __liveObjectUrls: Set<string>;
  __objectUrlPeak: { value: number };
}

const tracking = globalThis as unknown as UrlTracking;

/** Object URLs created and not yet revoked (tracked by jest.setup.ts). */
export function liveObjectUrlCount(): number {
  return tracking.__liveObjectUrls.size;
}

/** Starts measuring the peak of live object URLs from the current count. */
export function resetObjectUrlPeak(): void {
  tracking.__objectUrlPeak.value = tracking.__liveObjectUrls.size;
}

/** Most object URLs alive at once since {@link resetObjectUrlPeak}. */
export function objectUrlPeak(): number {
  return tracking.__objectUrlPeak.value;
}
