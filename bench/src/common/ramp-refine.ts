/**
 * Where a ramp looks once a step fails: its steps are coarse (10, 25, 50,
 * 75...), so "25 sustained, 50 not" may mean 26 or 49. After the first
 * step that is not sustained, the ramp measures the midpoint between the
 * last sustained count and the failed one, then the midpoint of the half
 * the limit lies in, at most MAX_MIDPOINT_PROBES times: two probes narrow
 * 25-50 to a quarter of the gap (about ±3 trainers).
 */

/** Midpoints a ramp measures after its first unsustained step. */
export const MAX_MIDPOINT_PROBES = 2;
/**
 * No probe once the gap is at most this share of the failed count (or one
 * trainer): 45 vs 50 is as precise as the measurement's own noise.
 */
export const MIN_PROBE_GAP_SHARE = 0.1;

/**
 * The trainer count to measure between `sustained` (the most sustained so
 * far, 0 for none) and `failed` (the fewest that failed), or undefined when
 * the gap is already narrow enough.
 */
export function nextProbe(sustained: number, failed: number): number | undefined {
  const gap = failed - sustained;
  if (gap <= 1 || gap <= failed * MIN_PROBE_GAP_SHARE) return undefined;
  return Math.round((sustained + failed) / 2);
}
