import type { ListSessionsResponse, SessionSummary } from '@trainwatch/proto';

/** Sessions asked for per ListSessions call: one page of the runs list. */
export const SESSIONS_PAGE_SIZE = 100;
/**
 * Pages of runs held at once (1,200 summaries with the default page size).
 * The list scrolls over 10,000 runs and more; only what is on screen, and
 * a little around it, is held. Pages farthest from the view go first.
 */
export const MAX_HELD_PAGES = 12;
/**
 * Page tokens remembered (a token is the only way to a later page). With
 * 100 a page that reaches 100,000 runs; past it the list says to narrow the
 * search.
 */
export const MAX_PAGE_TOKENS = 1_000;

/** One ListSessions call to make next: `page` from `token`, then held (or only walked past). */
export interface PageJob {
  page: number;
  token: string;
  /** True when the page is held already and asked again for fresh values. */
  refresh: boolean;
}

interface HeldPage {
  sessions: readonly SessionSummary[];
  fetchedAtMs: number;
}

/**
 * The runs list as pages of one query, a bounded window of them held. Pages
 * are reached by walking tokens from the first (ListSessions pages by
 * position, not offset), so every page's token and first row are
 * remembered once seen; a page the server shortened (its 4 MiB budget)
 * moves the rows after it, which `starts` records.
 */
export class RunPages {
  /** tokens[k] asks for page k; starts[k] is its first row. Same length, at most MAX_PAGE_TOKENS. */
  private readonly tokens: string[] = [''];
  private readonly starts: number[] = [0];
  private readonly held = new Map<number, HeldPage>();
  /** True once a page said there is nothing after it. */
  private lastPage: number | undefined;
  totalSize: number | undefined;

  constructor(
    readonly pageSize = SESSIONS_PAGE_SIZE,
    private readonly maxHeldPages = MAX_HELD_PAGES,
    private readonly maxTokens = MAX_PAGE_TOKENS,
  ) {}

  /** Rows the list can show: every matching run, up to what the remembered tokens reach. */
  get rowCount(): number {
    if (this.totalSize === undefined) return 0;
    return Math.min(this.totalSize, this.maxTokens * this.pageSize);
  }

  /** True when more runs match than the list can reach (MAX_PAGE_TOKENS). */
  get truncated(): boolean {
    return this.totalSize !== undefined && this.totalSize > this.rowCount;
  }

  get heldPages(): number {
    return this.held.size;
  }

  /** The page holding row `index` (exact where its start is known, else estimated by page size). */
  pageOf(index: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.starts[middle] ?? 0) <= index) low = middle;
      else high = middle - 1;
    }
    const start = this.starts[low] ?? 0;
    const count = this.held.get(low)?.sessions.length ?? this.pageSize;
    if (index < start + count || low === this.lastPage) return low;
    return low + 1 + Math.floor((index - start - count) / this.pageSize);
  }

  /** The run at row `index`, when its page is held. */
  row(index: number): SessionSummary | undefined {
    const page = this.pageOf(index);
    const start = this.starts[page];
    if (start === undefined) return undefined;
    return this.held.get(page)?.sessions[index - start];
  }

  /**
   * What to ask next for rows first..last to be on screen and fresh: a
   * missing page (or the furthest known token towards it), else the page in
   * view fetched longest ago, once older than `staleMs` (never with
   * `refreshes` off, e.g. while the tab is hidden).
   */
  nextJob(
    first: number,
    last: number,
    nowMs: number,
    staleMs: number,
    refreshes = true,
  ): PageJob | undefined {
    if (this.totalSize === undefined) return { page: 0, token: '', refresh: false };
    if (this.rowCount === 0) {
      return this.stalest([0], nowMs, staleMs, refreshes);
    }
    const lastRow = Math.min(last, this.rowCount - 1);
    const firstPage = this.pageOf(Math.max(0, Math.min(first, lastRow)));
    const lastPage = this.pageOf(lastRow);
    const wanted: number[] = [];
    for (let page = firstPage; page <= lastPage; page++) wanted.push(page);
    for (const page of wanted) {
      if (this.held.has(page)) continue;
      const known = Math.min(page, this.tokens.length - 1);
      const token = this.tokens[known];
      if (token === undefined || (known < page && known === this.lastPage)) continue;
      return { page: known, token, refresh: false };
    }
    return this.stalest(wanted, nowMs, staleMs, refreshes);
  }

  private stalest(
    pages: number[],
    nowMs: number,
    staleMs: number,
    refreshes: boolean,
  ): PageJob | undefined {
    if (!refreshes) return undefined;
    let oldest: { page: number; at: number } | undefined;
    for (const page of pages) {
      const at = this.held.get(page)?.fetchedAtMs;
      if (at === undefined || nowMs - at < staleMs) continue;
      if (oldest === undefined || at < oldest.at) oldest = { page, at };
    }
    const token = oldest === undefined ? undefined : this.tokens[oldest.page];
    return oldest === undefined || token === undefined
      ? undefined
      : { page: oldest.page, token, refresh: true };
  }

  /** When the next refresh of a page in view is due (for the poll timer). */
  nextRefreshAtMs(first: number, last: number, staleMs: number): number | undefined {
    if (this.rowCount === 0) {
      const at = this.held.get(0)?.fetchedAtMs;
      return at === undefined ? undefined : at + staleMs;
    }
    const lastRow = Math.min(last, this.rowCount - 1);
    let due: number | undefined;
    for (let page = this.pageOf(Math.max(0, first)); page <= this.pageOf(lastRow); page++) {
      const at = this.held.get(page)?.fetchedAtMs;
      if (at !== undefined && (due === undefined || at + staleMs < due)) due = at + staleMs;
    }
    return due;
  }

  /**
   * Takes the answer for `page`, holding it (evicting the pages farthest
   * from `focusPage` past the bound). When a refreshed page now ends
   * elsewhere (runs added or moved), what was known after it is dropped and
   * walked again when needed.
   */
  store(page: number, response: ListSessionsResponse, nowMs: number, focusPage = page): void {
    this.totalSize = response.totalSize;
    const start = this.starts[page];
    if (start === undefined) return;
    const nextStart = start + response.sessions.length;
    const next = response.nextPageToken;
    const changed =
      this.tokens[page + 1] !== undefined &&
      (this.tokens[page + 1] !== next || this.starts[page + 1] !== nextStart);
    if (changed || next === '') {
      this.tokens.length = page + 1;
      this.starts.length = page + 1;
      for (const held of [...this.held.keys()]) if (held > page) this.held.delete(held);
    }
    this.lastPage = next === '' ? page : this.lastPage === page ? undefined : this.lastPage;
    if (next !== '' && page + 1 < this.maxTokens && this.tokens[page + 1] === undefined) {
      this.tokens.push(next);
      this.starts.push(nextStart);
    }
    this.held.set(page, { sessions: response.sessions, fetchedAtMs: nowMs });
    while (this.held.size > this.maxHeldPages) {
      let farthest = page;
      for (const held of this.held.keys()) {
        if (Math.abs(held - focusPage) > Math.abs(farthest - focusPage)) farthest = held;
      }
      this.held.delete(farthest);
    }
  }

  /** Marks every held page stale, so the next jobs refresh what is in view (after an edit). */
  markStale(): void {
    for (const held of this.held.values()) held.fetchedAtMs = Number.NEGATIVE_INFINITY;
  }
}
