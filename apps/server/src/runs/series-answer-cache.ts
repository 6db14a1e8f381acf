import type { QuerySeriesResponse } from '@trainwatch/proto';

/**
 * QuerySeries answers for finished runs, least recently used dropped past
 * `maxBytes` (estimated from their buckets). A finished run's points no
 * longer change, and people come back to the same runs (the compare view of
 * twenty runs asks twenty of them each time it opens, each 50-70 ms of
 * SQLite on one thread). The key holds the run's stored status and last
 * update time, so a run that resumes (and is written again) is never
 * answered from an entry taken before; such entries just age out.
 */
export class SeriesAnswerCache {
  private readonly entries = new Map<string, { answer: QuerySeriesResponse; bytes: number }>();
  private held = 0;

  constructor(readonly maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`maxBytes must be a whole number >= 0, got ${maxBytes}`);
    }
  }

  /** Bytes held (estimated), at most maxBytes. */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): QuerySeriesResponse | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.answer;
  }

  /** Keeps `answer` (never mutated afterwards) unless it alone is larger than the cache. */
  set(key: string, answer: QuerySeriesResponse, bytes: number): void {
    if (bytes > this.maxBytes) return;
    this.delete(key);
    this.entries.set(key, { answer, bytes });
    this.held += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.held -= entry.bytes;
    }
  }

  /** Drops every answer of one run (it was deleted). */
  dropRun(sessionId: string): void {
    for (const [key, entry] of this.entries) {
      if (key.startsWith(`${sessionId}\u0000`)) {
        this.entries.delete(key);
        this.held -= entry.bytes;
      }
    }
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.held -= entry.bytes;
  }
}
