/**
 * How a series value is kept, the same in both engines: NaN as NULL (SQLite
 * binds NaN as NULL anyway, and PostgreSQL orders NaN above every number,
 * which would make it every bucket's max), ±Infinity as itself (both hold it).
 * Readers map NULL back to NaN; min/max over a bucket skip NaN points.
 */
export function toStoredValue(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

/** The value a stored column holds (NULL is NaN). */
export function fromStoredValue(value: number | null): number {
  return value === null ? Number.NaN : value;
}
