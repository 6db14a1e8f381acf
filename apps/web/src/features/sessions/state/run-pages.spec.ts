import { create } from '@bufbuild/protobuf';
import { ListSessionsResponseSchema, type ListSessionsResponse } from '@trainwatch/proto';
import { summary } from '../../../test/fixtures';
import { RunPages } from './run-pages';

/** A server of `total` runs `r0..`, pages of `size` except where `short` says otherwise. */
function answer(total: number, page: number, from: number, size: number): ListSessionsResponse {
  const end = Math.min(total, from + size);
  return create(ListSessionsResponseSchema, {
    sessions: Array.from({ length: end - from }, (_, i) => summary({ sessionId: `r${from + i}` })),
    nextPageToken: end < total ? `t${page + 1}@${end}` : '',
    totalSize: total,
  });
}

/** Runs the jobs RunPages asks for until rows first..last are held. */
function fill(
  pages: RunPages,
  total: number,
  first: number,
  last: number,
  short = new Map<number, number>(),
) {
  const tokens: string[] = [];
  for (
    let job = pages.nextJob(first, last, 0, 1_000);
    job;
    job = pages.nextJob(first, last, 0, 1_000)
  ) {
    tokens.push(job.token);
    const from = job.token === '' ? 0 : Number(job.token.split('@')[1]);
    pages.store(
      job.page,
      answer(total, job.page, from, short.get(job.page) ?? pages.pageSize),
      0,
      pages.pageOf(first),
    );
    if (tokens.length > 1_000) throw new Error('no end');
  }
  return tokens;
}

describe('RunPages', () => {
  it('walks tokens to a far page and holds at most its bound of pages, nearest the view kept', () => {
    const pages = new RunPages(10, 3);
    expect(fill(pages, 1_000, 0, 5)).toEqual(['']);
    expect(pages.rowCount).toBe(1_000);
    const walked = fill(pages, 1_000, 990, 999);
    expect(walked).toHaveLength(99);
    expect(pages.heldPages).toBe(3);
    expect(pages.row(999)?.sessionId).toBe('r999');
    expect(pages.row(0)).toBeUndefined();
    // Back at the top, the first page is asked again by its remembered token; no walk.
    expect(fill(pages, 1_000, 0, 5)).toEqual(['']);
  });

  it('places rows after a page the server shortened', () => {
    const pages = new RunPages(10, 20);
    fill(pages, 50, 0, 49, new Map([[1, 4]]));
    expect(pages.row(13)?.sessionId).toBe('r13');
    expect(pages.row(14)?.sessionId).toBe('r14');
    expect(pages.row(49)?.sessionId).toBe('r49');
  });

  it('asks a held page in view again once stale, and never while refreshes are off', () => {
    const pages = new RunPages(10, 3);
    fill(pages, 30, 0, 5);
    expect(pages.nextJob(0, 5, 999, 1_000)).toBeUndefined();
    expect(pages.nextJob(0, 5, 1_000, 1_000)).toEqual({ page: 0, token: '', refresh: true });
    expect(pages.nextJob(0, 5, 1_000, 1_000, false)).toBeUndefined();
    expect(pages.nextRefreshAtMs(0, 5, 1_000)).toBe(1_000);
  });

  it('drops what it knew past a page that now ends elsewhere (runs added above)', () => {
    const pages = new RunPages(10, 10);
    fill(pages, 30, 0, 29);
    expect(pages.heldPages).toBe(3);
    pages.store(0, answer(31, 0, 0, 9), 5);
    expect(pages.heldPages).toBe(1);
    expect(pages.row(9)).toBeUndefined();
  });

  it('reaches only as many rows as it keeps tokens for, and says so', () => {
    const pages = new RunPages(10, 3, 5);
    fill(pages, 1_000, 0, 5);
    expect(pages.rowCount).toBe(50);
    expect(pages.truncated).toBe(true);
    fill(pages, 1_000, 45, 49);
    expect(pages.row(49)?.sessionId).toBe('r49');
    expect(pages.nextJob(45, 49, 0, 1_000)).toBeUndefined();
  });
});
